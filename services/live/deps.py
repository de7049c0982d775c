"""``RedisNeeded``: the route dependency that answers 503 before a route touches the database
when the Redis circuit breaker is open (services.live.breaker).

Put it in the route decorator (``dependencies=[RedisNeeded]``): FastAPI solves those before the
view's parameters, so the request's database session is never opened and no row is loaded for
a request that would only fail on Redis. The app-wide authentication runs before it (an
unknown caller gets its 401, not news about our Redis). With Redis healthy it is one attribute
read on the event loop; only the half-open probe (a PING) runs in a worker thread.
"""

from __future__ import annotations

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
