"""A circuit breaker around Redis, so a stalled Redis costs one timeout, not one per request.

Without it every request that needs Redis (``GET /resources``, ``/dashboard/data``, quotes)
first loaded its rows from the database and then waited ``redis_timeout_s`` on Redis, all at
once, again and again: that CPU and those sessions slowed ``GET /orders``, which needs no Redis
at all (bench/stall.py, bench/results/stall_notes.md). After a Redis timeout or connection
error the breaker *opens* for ``cooldown_s``: Redis-needing requests answer 503 with
``Retry-After`` at once, before any database work. When the cool-down is over, the next caller
becomes the one *half-open* probe (a PING, within the Redis timeout): an answer closes the
breaker, a failure opens it for another cool-down. Everyone else keeps getting 503 while the
probe runs. With Redis healthy it is one lock and a comparison per call.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
STATES = (CLOSED, OPEN, HALF_OPEN)
DEFAULT_COOLDOWN_S = 3.0


class BreakerOpenError(RedisConnectionError):
    """Refused without calling Redis: the breaker is open. A ``RedisError``, so every path that
    already answers 503 for a Redis failure answers it for this too."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"Redis circuit breaker open; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def trips(exc: BaseException) -> bool:
    """Whether ``exc`` says Redis is unreachable or too slow (a wrong-type reply does not)."""
    return (isinstance(exc, RedisConnectionError | RedisTimeoutError)
            and not isinstance(exc, BreakerOpenError))


class CircuitBreaker:
    """closed -> open (on a timeout / connection error) -> half_open (one probe) -> closed.

    ``probe`` checks Redis (a PING); ``clock`` is monotonic seconds (tests pass a fake one).
    Thread-safe: sync routes run in a thread pool.
    """

    def __init__(self, cooldown_s: float, probe: Callable[[], object],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown_s, self.probe, self.clock = cooldown_s, probe, clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._opened_at = 0.0
        self.opened_total = 0  # closed -> open transitions
        self.probes_failed_total = 0
        self.last_error = ""

    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    def retry_after_s(self) -> int:
        """Whole seconds until the next probe may run (at least 1: a client should wait)."""
        with self._lock:
            left = self._opened_at + self.cooldown_s - self.clock()
        return max(1, math.ceil(left))

    def admit(self) -> None:
        """Return when a Redis call may go ahead; raise ``BreakerOpenError`` when it may not.

        The caller that finds the cool-down over runs the probe itself, outside the lock.
        """
        with self._lock:
            if self._state == CLOSED:
                return
            if self._state == HALF_OPEN or self.clock() - self._opened_at < self.cooldown_s:
                left = self._opened_at + self.cooldown_s - self.clock()
                raise BreakerOpenError(max(1, math.ceil(left)))
            self._state = HALF_OPEN  # this caller probes; the others keep getting 503
        try:
            self.probe()
        except Exception as exc:
            self._reopen(exc, probe=True)
            raise BreakerOpenError(max(1, math.ceil(self.cooldown_s))) from exc
        self.succeeded()

    def succeeded(self) -> None:
        with self._lock:
            self._state = CLOSED

    def failed(self, exc: BaseException) -> None:
        """Note a Redis call's failure: opens the breaker when ``exc`` says Redis is down."""
        if trips(exc):
            self._reopen(exc, probe=False)

    def _reopen(self, exc: BaseException, *, probe: bool) -> None:
        with self._lock:
            if self._state == CLOSED:
                self.opened_total += 1
            if probe:
                self.probes_failed_total += 1
            self._state, self._opened_at = OPEN, self.clock()
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]

    def call(self, fn: Callable[[], T]) -> T:
        """``fn()`` (a Redis call) behind the breaker."""
        self.admit()
        try:
            value = fn()
        except Exception as exc:
            self.failed(exc)
            raise
        return value

    def snapshot(self) -> dict[str, object]:
        """What /readyz shows."""
        with self._lock:
            state, opened_at = self._state, self._opened_at
        body: dict[str, object] = {"state": state, "opened_total": self.opened_total,
                                   "probes_failed_total": self.probes_failed_total,
                                   "cooldown_s": self.cooldown_s}
        if state != CLOSED:
            body["open_for_s"] = round(self.clock() - opened_at, 3)
            body["last_error"] = self.last_error
        return body
