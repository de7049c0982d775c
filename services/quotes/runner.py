"""Runs the matching engine at most ``quote_concurrency`` solves at once, timing each.

Called from a worker thread (the pricing flow runs off the event loop): CP-SAT releases the GIL
while it searches, so threads keep the API responsive without the cost of pickling the market
view into another process. Requests beyond the limit wait for a free slot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from domain.model import Scenario
from matching.engine import Quote, SolveOptions
from services.core.metrics import QUOTE_SECONDS

QuoteFn = Callable[..., list[Quote]]


class QuoteRunner:
    """A ``flows.pricing.Solve``: ``runner(market, order_id, time_limit_s)``."""

    def __init__(self, quote_fn: QuoteFn, concurrency: int) -> None:
        self.quote_fn = quote_fn  # the seam tests swap
        self._slots = threading.BoundedSemaphore(max(1, concurrency))

    def __call__(self, scenario: Scenario, order_id: str, time_limit_s: float) -> list[Quote]:
        """The engine's alternatives for ``order_id``; blocks while all slots are busy."""
        with self._slots:
            started = time.perf_counter()
            quotes = self.quote_fn(scenario, order_id,
                                   options=SolveOptions(time_limit_s=time_limit_s))
            QUOTE_SECONDS.observe(time.perf_counter() - started)
        return quotes
