"""/orders/{id}/quotes: ask for priced alternatives (solved off the event loop) and list them."""

from __future__ import annotations

import functools
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse

from services.auth import scope
from services.auth.deps import CurrentPrincipal
from services.auth.principal import Principal
from services.core.db import DbSession, session_scope
from services.core.errors import InvalidError, NotFoundError
from services.flows import pricing
from services.live.deps import RedisNeeded
from services.orders import service as order_service
from services.orders.views import get_owned
from services.quotes import service
from services.quotes.models import QuoteRead

router = APIRouter(tags=["quotes"])


@router.post("/orders/{order_id}/quotes", response_model=list[QuoteRead],
             status_code=status.HTTP_201_CREATED,
             responses={202: {"description": "queued for a matcher worker (wait=false)"}},
             dependencies=[RedisNeeded])  # 503 at once while the Redis breaker is open
async def create_quotes(request: Request, principal: CurrentPrincipal, order_id: str,
                        time_limit_s: float | None = Query(None, gt=0),
                        wait: bool = Query(True, description="solve now, or queue and answer "
                                                             "202 (GET the quotes later)"),
                        ) -> Any:
    """Price the order against the market now (cheapest, fastest and balanced alternatives).

    422 naming the order and the engine's reason (the step and the constraint) when the market
    cannot serve it; nothing is stored then.
    """
    state, settings = request.app.state, request.app.state.settings
    limit = time_limit_s or settings.quote_default_time_limit_s
    if limit > settings.quote_max_time_limit_s:
        raise InvalidError("query.time_limit_s",
                           f"at most {settings.quote_max_time_limit_s} s, got {limit}")
    if not wait:
        return await anyio.to_thread.run_sync(_enqueue, state, principal, order_id, limit)
    await anyio.to_thread.run_sync(_check_owner, state, principal, order_id)
    runner = state.quote_runner
    return await anyio.to_thread.run_sync(functools.partial(
        pricing.price_order, state.session_factory, order_id=order_id, time_limit_s=limit,
        solve=runner, unavailable=state.live.unavailable, clock=state.clock,
        actor=principal.actor, actor_org=principal.org_id,
        cache=getattr(state, "market_cache", None)), limiter=runner.limiter)


def _check_owner(state: Any, principal: Principal, order_id: str) -> None:
    """404 unless the caller owns the order (before anything is solved)."""
    with session_scope(state.session_factory) as db:
        get_owned(db, principal, order_id)


def _enqueue(state: Any, principal: Principal, order_id: str, limit: float) -> JSONResponse:
    with session_scope(state.session_factory) as db:  # 404 / 409 now, not in the worker
        get_owned(db, principal, order_id)
        service.market_for(db, order_id=order_id, unavailable=set(), now=state.clock(),
                           cache=getattr(state, "market_cache", None))
    request_id = state.quote_queue.submit(order_id=order_id, time_limit_s=limit)
    return JSONResponse(status_code=202, headers={"Location": f"/orders/{order_id}/quotes"},
                        content={"order": order_id, "request": request_id, "status": "queued"})


@router.get("/orders/{order_id}/quotes", response_model=list[QuoteRead])
def list_quotes(db: DbSession, principal: CurrentPrincipal, order_id: str) -> list[QuoteRead]:
    get_owned(db, principal, order_id)
    return [service.to_read(q) for q in service.get_all(db, order_id=order_id)]


@router.get("/quotes/{quote_id}", response_model=QuoteRead)
def get_quote(db: DbSession, principal: CurrentPrincipal, quote_id: str) -> QuoteRead:
    quote = service.get(db, quote_id=quote_id)
    order = order_service.get(db, order_id=quote.order_id) if quote is not None else None
    if quote is None or order is None or not scope.owns_order(principal, order):
        raise NotFoundError("quote", quote_id)
    return service.to_read(quote)
