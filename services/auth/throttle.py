"""Failed logins are limited per account and per client address, so passwords cannot be guessed
at the speed of the server.

``POST /auth/login`` asks ``LoginThrottle.attempt`` before it verifies anything: past
``login_failures_per_account`` failures for one e-mail, or ``login_failures_per_address`` from
one client address, within ``login_failure_window_s``, it answers 429 with Retry-After (the
seconds until the oldest of those failures leaves the window) and spends no argon2 time. A
successful login clears its account's failures, never its address's (an attacker holding one
account must not reset the budget it guesses others' passwords with).

An unknown e-mail is counted like a known one: the throttle's answer says nothing about which
accounts exist. Counts live in this process (like the request rate limit of
``services.api.backpressure``): with N API workers the limits are N times the settings.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from prometheus_client import Counter

LOGIN_FAILURES = Counter("sharefab_login_failures", "POST /auth/login answered 401")
LOGIN_REFUSED = Counter("sharefab_login_refused",
                        "POST /auth/login answered 429 by the failed-login limit", ["limit"])
MAX_KEYS = 100_000  # accounts and addresses remembered; the least recently failing go first


class TooManyLoginsError(Exception):
    """Answered 429 with Retry-After (services.auth.install)."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class _Failures:
    """Failure times per key within a sliding window, bounded in keys."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._times.get(key, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def wait_s(self, key: str, now: float) -> float:
        """0 when ``key`` may try, else the seconds until its oldest failure expires."""
        times = self._recent(key, now)
        if len(times) < self.limit:
            return 0.0
        return times[-self.limit] + self.window_s - now

    def add(self, key: str, now: float) -> None:
        times = self._recent(key, now)
        times.append(now)
        while len(times) > self.limit:  # only the newest ``limit`` ever matter
            times.popleft()
        self._times[key] = times
        self._times.move_to_end(key)
        if len(self._times) > MAX_KEYS:
            self._times.popitem(last=False)

    def discard(self, key: str, at: float) -> None:
        times = self._times.get(key)
        if times is not None and at in times:
            times.remove(at)

    def clear(self, key: str) -> None:
        self._times.pop(key, None)


class LoginThrottle:
    """The failed-login limit of one API process; thread-safe."""

    def __init__(self, *, per_account: int, per_address: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._accounts = _Failures(per_account, window_s)
        self._addresses = _Failures(per_address, window_s)
        self._clock = clock
        self._lock = threading.Lock()

    @staticmethod
    def _account(email: str) -> str:
        return email.strip().lower()

    def attempt(self, *, email: str, address: str) -> float:
        """Before a password is checked: the attempt's ticket for ``succeeded``, or
        TooManyLoginsError with the whole seconds to wait (counted refused).

        The attempt counts as a failure from now on, so parallel guesses cannot slip past
        the limit while their passwords are being checked; a success takes it back.
        """
        now = self._clock()
        with self._lock:
            by_address = self._addresses.wait_s(address, now)
            by_account = self._accounts.wait_s(self._account(email), now)
            if by_address <= 0 and by_account <= 0:
                self._addresses.add(address, now)
                self._accounts.add(self._account(email), now)
                return now
        LOGIN_REFUSED.labels("address" if by_address >= by_account else "account").inc()
        raise TooManyLoginsError(max(1, math.ceil(max(by_address, by_account))))

    def failed(self) -> None:
        LOGIN_FAILURES.inc()

    def succeeded(self, *, email: str, address: str, ticket: float) -> None:
        """Clear the account's failures; take back only this attempt of the address's."""
        with self._lock:
            self._accounts.clear(self._account(email))
            self._addresses.discard(address, ticket)
