"""Runs the matching engine off the event loop, at most ``quote_concurrency`` solves at once.

CP-SAT releases the GIL while it searches, so worker threads keep the API responsive without
the cost of pickling the snapshot into another process.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import anyio
import anyio.to_thread

from domain.model import Scenario
from matching.engine import Quote, SolveOptions
from services.api.metrics import QUOTE_SECONDS

QuoteFn = Callable[..., list[Quote]]


class QuoteRunner:
    def __init__(self, quote_fn: QuoteFn, concurrency: int) -> None:
        self.quote_fn = quote_fn
        self._limiter = anyio.CapacityLimiter(concurrency)

    async def run(self, scenario: Scenario, order_id: str,
                  time_limit_s: float) -> tuple[list[Quote], float]:
        """The alternatives for ``order_id`` and the wall seconds the engine took."""
        call = functools.partial(self.quote_fn, scenario, order_id,
                                 options=SolveOptions(time_limit_s=time_limit_s))
        started = time.perf_counter()
        quotes = await anyio.to_thread.run_sync(call, limiter=self._limiter)
        wall_s = time.perf_counter() - started
        QUOTE_SECONDS.observe(wall_s)
        return quotes, wall_s
