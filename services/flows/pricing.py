"""Pricing an order: the market view, the engine's alternatives, the stored quotes.

One function for every caller: ``POST /orders/{id}/quotes`` (in a worker thread) and the
matcher worker of the Redis stream (``services.workers.match``). Two short transactions around
the solve, so no database transaction is held while CP-SAT searches.

An order the market cannot serve is refused with ``UnmatchedError`` (a 422 naming the order and
the engine's reason: which step, which constraint) and nothing is stored: a quote a client gets
is one it can accept. The matcher worker dead-letters such a request with the same reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from domain import model as m
from matching.engine import Quote as Alternative
from services.audit import service as audit
from services.core.db import session_scope
from services.core.errors import InvalidError
from services.orders import service as order_service
from services.quotes import service as quote_service
from services.quotes.models import Quote, QuoteRead
from services.scenario.market_cache import MarketCache

# (market, order id, time limit in s) -> the engine's alternatives; the QuoteRunner in the API
# (bounded concurrency, solve-time metric), the engine itself in a worker.
Solve = Callable[[m.Scenario, str, float], Sequence[Alternative]]


class UnmatchedError(InvalidError):
    """The market has no plan for the order (answered 422 with the engine's reason)."""

    def __init__(self, order_id: str, reason: str) -> None:
        super().__init__(f"order {order_id}", f"cannot be matched: {reason}")
        self.order_id = order_id
        self.reason = reason


def price_order(session_factory: sessionmaker[Session], *, order_id: str, time_limit_s: float,
                solve: Solve, unavailable: Callable[[], set[str]],
                clock: Callable[[], datetime], actor: str = "system",
                actor_org: str | None = None,
                on_stored: Callable[[Session, list[Quote]], object] | None = None,
                cache: MarketCache | None = None) -> list[QuoteRead]:
    """Quote ``order_id`` against the market now and store the offered alternatives.

    Raises NotFoundError (unknown order), ConflictError (order no longer open), UnmatchedError
    (no plan) or InvalidError (the engine refusing its input). ``actor`` (of organisation
    ``actor_org``) is who asked: the issued quotes are in the audit trail under that name.
    ``on_stored`` runs in the transaction that stores the quotes (the matcher's once-only job
    record: both commit or neither). ``cache``: the API process's market copy
    (``services.scenario.market_cache``), if it keeps one.
    """
    down = unavailable()  # Redis before the session: no database session waits on it
    with session_scope(session_factory) as db:
        market = quote_service.market_for(db, order_id=order_id, unavailable=down,
                                          now=clock(), cache=cache)
    started = time.perf_counter()
    try:
        alternatives = list(solve(market, order_id, time_limit_s))
    except ValueError as exc:  # the engine refusing its input is a 422, not a crash
        raise InvalidError(f"order {order_id}", str(exc)) from exc
    wall_s = time.perf_counter() - started
    unmatched = [a for a in alternatives if a.plan.status is not m.OrderStatus.PLANNED]
    if unmatched and len(unmatched) == len(alternatives):
        raise UnmatchedError(order_id, unmatched[0].plan.reason or "no feasible plan")
    with session_scope(session_factory) as db:
        rows = quote_service.store(db, order_id=order_id, alternatives=alternatives,
                                   solver={"wall_s": round(wall_s, 3),
                                           "time_limit_s": time_limit_s},
                                   now=clock(), actor=actor)
        if on_stored is not None:
            on_stored(db, rows)
        reads = [quote_service.to_read(q) for q in rows]
        order = order_service.get(db, order_id=order_id)
        audit.record(db, actor=actor, actor_org=actor_org, action="quotes.issued",
                     object_type="order", object_id=order_id,
                     owner_org=order.org_id if order is not None else None,
                     after={"quotes": [{"id": q.id, "kind": q.kind, "total_cost": q.total_cost}
                                       for q in reads]})
        return reads
