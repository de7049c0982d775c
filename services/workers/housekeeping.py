"""Periodic chores of the order side: deliver due webhooks, sweep expired quotes.

A daemon thread in the API (``housekeeping_in_process``) or ``sharefab worker webhooks``;
both chores are safe to run in several processes at once (webhook claims skip locked rows;
expiry locks the order row).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from services.core.db import session_scope
from services.core.settings import Settings
from services.quotes.expiry import expire_quotes
from services.webhooks.delivery import RetryPolicy, deliver_due

log = logging.getLogger(__name__)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.webhook_max_attempts,
                       base_s=settings.webhook_backoff_s, timeout_s=settings.webhook_timeout_s)


class Housekeeper:
    """Runs ``round`` every ``poll_s`` until stopped; a failing round is logged, not fatal."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings,
                 clock: Callable[[], datetime]) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.clock = clock
        self.policy = retry_policy(settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, args=(self._stop,), name="housekeeping",
                                        daemon=True)

    def round(self) -> int:
        """One pass of every chore; answers the webhook deliveries attempted."""
        with session_scope(self.session_factory) as session:
            expire_quotes(session, now=self.clock(), ttl_s=self.settings.quote_ttl_s)
        return deliver_due(self.session_factory, policy=self.policy,
                           allow_private=self.settings.webhook_allow_private)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run(self, stop: threading.Event) -> None:
        """Rounds until ``stop`` is set (the thread's body; ``worker webhooks`` calls it)."""
        while not stop.is_set():
            try:
                sent = self.round()
            except Exception:  # a database hiccup must not end the chores for good
                log.exception("housekeeping round failed")
                sent = 0
            if not sent:
                stop.wait(self.settings.housekeeping_poll_s)
