"""Overload is refused politely: 429 + Retry-After, before any work is done (issue 12).

Two guards, one pure ASGI middleware:

- a rate limit per tenant: a token bucket of ``rate_limit_burst`` requests refilled at
  ``rate_limit_per_s``; ``/healthz``, ``/readyz`` and ``/metrics`` are exempt (an outage must
  stay observable);
- quote admission: ``POST /orders/{id}/quotes`` solving now (``wait=true``) may have at most
  ``quote_queue_max`` requests solving or waiting for a solver slot in this process, and at
  most ``quote_tenant_max`` of one tenant; a queued request (``wait=false``) is refused once
  the Redis stream holds ``match_queue_max`` unanswered requests. Before this, a third 40 s
  quote simply waited 80 s.

Both count per process: with ``sharefab serve --workers N`` the totals are N times the
settings (a shared limiter in Redis would make every request depend on Redis, which the
fault rules forbid). The rate limit counts per API key or account and quote admission per
organisation (``services.auth.callers``); a request without a valid token counts against its
client address.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections import OrderedDict
from typing import Any

import anyio.to_thread
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Receive, Scope, Send

from services.auth.callers import CallerDirectory, CallerKeys, bearer_token, by_address
from services.live.breaker import CLOSED
from services.live.deps import breaker_of

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
QUOTE_PATH = re.compile(r"^/orders/[^/]+/quotes/?$")
MAX_TENANTS = 100_000  # buckets kept; the least recently seen are forgotten first


class TokenBuckets:
    """A token bucket per key: ``burst`` tokens, refilled at ``rate_per_s``; thread-safe."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate_per_s, self.burst = rate_per_s, burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when a token was taken, else the seconds until one is there."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate_per_s)
            wait_s = 0.0 if tokens >= 1 else (1 - tokens) / self.rate_per_s
            self._buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
            if len(self._buckets) > MAX_TENANTS:
                self._buckets.popitem(last=False)
            return wait_s


class QuoteSlots:
    """Quote requests admitted (solving or waiting for a solver), overall and per tenant."""

    def __init__(self, overall: int, per_tenant: int) -> None:
        self.overall, self.per_tenant = overall, per_tenant
        self.active = 0
        self._by_tenant: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, tenant: str) -> str | None:
        """None when admitted (call ``release``), else why not."""
        with self._lock:
            if self.active >= self.overall:
                return f"{self.active} quote requests already in progress (limit {self.overall})"
            mine = self._by_tenant.get(tenant, 0)
            if mine >= self.per_tenant:
                return f"{mine} of your quote requests already in progress " \
                       f"(limit {self.per_tenant} per client)"
            self.active += 1
            self._by_tenant[tenant] = mine + 1
            return None

    def release(self, tenant: str) -> None:
        with self._lock:
            self.active -= 1
            left = self._by_tenant.get(tenant, 1) - 1
            if left > 0:
                self._by_tenant[tenant] = left
            else:
                self._by_tenant.pop(tenant, None)


class BackPressure:
    """The ASGI middleware: rate limit, then quote admission; everything else passes."""

    def __init__(self, app: ASGIApp, settings: Any) -> None:
        self.app = app
        self.settings = settings
        self.buckets = (TokenBuckets(settings.rate_limit_per_s, settings.rate_limit_burst)
                        if settings.rate_limit_per_s > 0 else None)
        self.quotes = QuoteSlots(settings.quote_queue_max, settings.quote_tenant_max)
        self.refused: dict[str, int] = {"rate": 0, "quotes": 0, "queue": 0}
        self.callers: CallerDirectory | None = None  # made on the first request (needs the DB)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        keys = await self._caller_keys(scope)
        tenant = keys.tenant
        if self.buckets is not None:
            wait_s = self.buckets.take(keys.rate)
            if wait_s > 0:
                self.refused["rate"] += 1
                await _too_many(send, "rate", f"more than {self.settings.rate_limit_per_s:g} "
                                f"requests/s (burst {self.settings.rate_limit_burst})", wait_s)
                return
        if scope["method"] != "POST" or not QUOTE_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if b"wait=false" in scope.get("query_string", b""):
            await self._queued(scope, receive, send)
            return
        why = self.quotes.admit(tenant)
        if why is not None:
            self.refused["quotes"] += 1
            await _too_many(send, "quotes", why, self.settings.quote_default_time_limit_s)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.quotes.release(tenant)

    async def _caller_keys(self, scope: Scope) -> CallerKeys:
        """The API key or account (rate) and organisation (quotes) of a request; its client
        address when it carries no valid token (``services.auth.callers``)."""
        token = bearer_token(scope.get("headers", []))
        state = scope["app"].state
        if token is None or getattr(state, "session_factory", None) is None:
            return by_address(scope.get("client"))
        if self.callers is None:
            self.callers = CallerDirectory(state.session_factory, self.settings.secret_key)
        known, keys = self.callers.cached(token)
        if not known:
            try:
                keys = await anyio.to_thread.run_sync(self.callers.look_up, token)
            except SQLAlchemyError:  # the route's own database use answers 503
                keys = None
        return keys if keys is not None else by_address(scope.get("client"))

    async def _queued(self, scope: Scope, receive: Receive, send: Send) -> None:
        queue = getattr(scope["app"].state, "quote_queue", None)
        breaker = breaker_of(getattr(scope["app"].state, "live", None))
        if breaker is not None and breaker.state != CLOSED:
            queue = None  # Redis is known down: the route answers 503 at once, no wait here
        if queue is not None:
            try:
                waiting = await anyio.to_thread.run_sync(queue.waiting)
            except RedisError as exc:  # the route's own Redis call answers 503
                if breaker is not None:
                    breaker.failed(exc)  # a timeout here opens the breaker for the route
                waiting = 0
            if waiting >= self.settings.match_queue_max:
                self.refused["queue"] += 1
                await _too_many(send, "queue", f"{waiting} quote requests queued (limit "
                                f"{self.settings.match_queue_max})",
                                self.settings.quote_default_time_limit_s)
                return
        await self.app(scope, receive, send)


async def _too_many(send: Send, field: str, message: str, retry_after_s: float) -> None:
    body = json.dumps({"detail": f"too many requests: {message}; retry later",
                       "errors": [{"field": field, "message": message}]}).encode()
    await send({"type": "http.response.start", "status": 429, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(max(1, math.ceil(retry_after_s))).encode())]})
    await send({"type": "http.response.body", "body": body})
