"""Periodic chores of the order side: deliver due webhooks, sweep expired quotes, and repair
orders whose lots overrun their bookings.

A daemon thread in the API (``housekeeping_in_process``) or ``sharefab worker webhooks``;
every chore is safe to run in several processes at once (webhook claims skip locked rows;
expiry and repair lock the order row). A stalled machine sends no progress, so only a sweep
notices its lot running past its booked end (``services.flows.shopfloor.overrun_sweep``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from services.bookings.models import BookingRead
from services.core.db import session_scope
from services.core.settings import Settings
from services.flows import shopfloor
from services.quotes.expiry import expire_quotes
from services.webhooks.delivery import RetryPolicy, deliver_due

log = logging.getLogger(__name__)
# While a dependency stays down every round fails the same way: the first failure is logged with
# its traceback, the repeats as one line at most this often, and the recovery once.
REPEAT_LOG_EVERY_S = 60.0


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.webhook_max_attempts,
                       base_s=settings.webhook_backoff_s, timeout_s=settings.webhook_timeout_s)


class Housekeeper:
    """Runs ``round`` every ``poll_s`` until stopped; a failing round is logged, not fatal."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings,
                 clock: Callable[[], datetime], *,
                 dispatch: Callable[[list[BookingRead]], object] | None = None,
                 unavailable: Callable[[], set[str]] = set) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.clock = clock
        self.dispatch = dispatch
        self.unavailable = unavailable
        self.policy = retry_policy(settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, args=(self._stop,), name="housekeeping",
                                        daemon=True)

    def round(self) -> int:
        """One pass of every chore; answers the webhook deliveries attempted."""
        with session_scope(self.session_factory) as session:
            expire_quotes(session, now=self.clock(), ttl_s=self.settings.quote_ttl_s)
        self.repair_overruns()
        return deliver_due(self.session_factory, policy=self.policy,
                           allow_private=self.settings.webhook_allow_private)

    def repair_overruns(self) -> int:
        """Repair the orders of overrunning lots; send the changed work orders after commit.

        Only with a way to send work orders (the API's dispatcher): ``sharefab worker
        webhooks`` has none, and there the ingest workers' sweep does it.
        """
        if self.dispatch is None:
            return 0
        with session_scope(self.session_factory) as session:
            results = shopfloor.overrun_sweep(session, now=self.clock(),
                                              grace=timedelta(
                                                  seconds=self.settings.overrun_grace_s),
                                              unavailable=self.unavailable(),
                                              actor="housekeeping")
            send = [b for r in results for b in shopfloor.work_orders_of(session, r)]
        if send and self.dispatch is not None:
            try:
                self.dispatch(send)
            except Exception:  # the bookings stand; gateways re-sync from the API
                log.exception("dispatching %d repaired work orders failed", len(send))
        return len(results)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run(self, stop: threading.Event) -> None:
        """Rounds until ``stop`` is set (the thread's body; ``worker webhooks`` calls it)."""
        failures = FailureLog()
        while not stop.is_set():
            try:
                sent = self.round()
            except Exception as exc:  # a database hiccup must not end the chores for good
                failures.failed(exc)
                sent = 0
            else:
                failures.succeeded()
            if not sent:
                stop.wait(self.settings.housekeeping_poll_s)


class FailureLog:
    """How the housekeeping loop reports failing rounds without a traceback a second.

    During a Redis or database outage each round fails the same way; a traceback per round
    (the loop polls every second) buried everything else in the log. The first failure of a
    run of them is logged with its traceback, a repeat of the same error as one warning at
    most every ``every_s``, and the round that works again as one info line with the count.
    """

    def __init__(self, every_s: float = REPEAT_LOG_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s, self.clock = every_s, clock
        self._count = 0
        self._kind = ""
        self._logged_at = 0.0

    def failed(self, exc: BaseException) -> None:
        kind = f"{type(exc).__name__}: {exc}"[:200]
        self._count += 1
        now = self.clock()
        if self._count == 1 or kind != self._kind:
            log.error("housekeeping round failed", exc_info=exc)
            self._kind, self._logged_at = kind, now
        elif now - self._logged_at >= self.every_s:
            log.warning("housekeeping rounds still failing (%d in a row): %s", self._count, kind)
            self._logged_at = now

    def succeeded(self) -> None:
        if self._count:
            log.info("housekeeping works again after %d failed rounds", self._count)
        self._count, self._kind = 0, ""
