"""``RedisNeeded``: the route dependency that answers 503 before a route touches the database
when the Redis circuit breaker is open (services.live.breaker).

Put it in the route decorator (``dependencies=[RedisNeeded]``): FastAPI solves those before the
view's parameters, so the request's database session is never opened and no row is loaded for
a request that would only fail on Redis. ``RedisFirst``, the app's first dependency, answers
the same 503 for such a route even before authentication (its key lookup is a database
session too): bench/stall.py's callers retry at once, and while the breaker is open their
503s should cost next to nothing. With Redis healthy both are an attribute read on the event
loop; only the half-open probe (a PING) runs in a worker thread.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from services.live.breaker import CLOSED, CircuitBreaker


def breaker_of(live: object) -> CircuitBreaker | None:
    """The live store's breaker; None for stores without one (the in-memory test store)."""
    breaker = getattr(live, "breaker", None)
    return breaker if isinstance(breaker, CircuitBreaker) else None


async def redis_needed(request: Request) -> None:
    """Raise ``BreakerOpenError`` (503 + Retry-After) while the breaker is open."""
    breaker = breaker_of(getattr(request.app.state, "live", None))
    if breaker is None or breaker.state == CLOSED:
        return
    await run_in_threadpool(breaker.admit)


RedisNeeded = Depends(redis_needed)


def _marked(route: Any) -> bool:
    """Whether ``route`` declares ``RedisNeeded`` (cached per route: routes do not change)."""
    known = _MARKED.get(id(route))
    if known is None:
        dependant = getattr(route, "dependant", None)
        known = dependant is not None and any(
            getattr(d, "call", None) is redis_needed for d in dependant.dependencies)
        _MARKED[id(route)] = known
    return known


_MARKED: dict[int, bool] = {}


async def redis_first(request: Request) -> None:
    """App-wide, before authentication: ``redis_needed`` for the routes that declare it."""
    breaker = breaker_of(getattr(request.app.state, "live", None))
    if breaker is None or breaker.state == CLOSED:
        return
    if _marked(request.scope.get("route")):
        await run_in_threadpool(breaker.admit)


RedisFirst = Depends(redis_first)
