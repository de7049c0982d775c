"""Runs the matching engine for the pricing flow, timing each solve.

The API runs the whole pricing flow off the event loop under ``limiter``: at most
``quote_concurrency`` quotes at once, the others wait on the event loop without holding a
worker thread (so a burst of quote requests never starves the other routes' threads). CP-SAT
releases the GIL while it searches, so threads keep the API responsive without the cost of
pickling the market view into another process.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio

from domain.model import Scenario
from matching.engine import Quote, SolveOptions
from services.core.metrics import QUOTE_SECONDS
from services.core.settings import Settings

QuoteFn = Callable[..., list[Quote]]
# The API's default candidates per step (Settings.quote_candidates_per_step), also for the
# matcher workers, which build their runner without settings.
DEFAULT_CANDIDATES = Settings.model_fields["quote_candidates_per_step"].default


class QuoteRunner:
    """A ``flows.pricing.Solve``: ``runner(market, order_id, time_limit_s)``."""

    def __init__(self, quote_fn: QuoteFn, concurrency: int,
                 candidates_per_step: int = DEFAULT_CANDIDATES) -> None:
        self.quote_fn = quote_fn  # the seam tests swap
        self.limiter = anyio.CapacityLimiter(max(1, concurrency))
        self.candidates_per_step = candidates_per_step

    def options(self, time_limit_s: float) -> SolveOptions:
        """The engine's budget for one quote: the request's time, the API's candidates."""
        return SolveOptions(time_limit_s=time_limit_s,
                            candidates_per_step=self.candidates_per_step)

    def __call__(self, scenario: Scenario, order_id: str, time_limit_s: float) -> list[Quote]:
        """The engine's alternatives for ``order_id`` (blocking: call it from a thread)."""
        started = time.perf_counter()
        quotes = self.quote_fn(scenario, order_id, options=self.options(time_limit_s))
        QUOTE_SECONDS.observe(time.perf_counter() - started)
        return quotes
