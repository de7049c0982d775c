"""Whom a request counts against in the back-pressure limits: its credential and its tenant.

The request rate limit is per API key or per account (a login token counts against its
account), and quote admission per organisation, so an organisation cannot multiply its budget
by minting keys, and a stranger cannot spend anyone's budget by sending a forged token: a token
that names nothing valid counts against the client address, like no token at all.

``services.api.backpressure`` runs before routing and authentication, so this looks the token
up itself, read-only (``service.identify``: no ``last_used_at`` write), and remembers the
answer for ``ttl_s`` seconds per token hash. The cache only chooses a bucket: whether the
request is allowed is still decided afresh by ``services.auth.deps`` (a revoked key is refused
at once, it merely keeps its old bucket for up to ``ttl_s``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from services.auth import service, tokens
from services.core.db import session_scope

MAX_TOKENS = 10_000  # cached token hashes; the least recently used go first


@dataclass(frozen=True, slots=True)
class CallerKeys:
    """``rate``: the request-rate bucket; ``tenant``: the quote-admission count."""

    rate: str
    tenant: str


def by_address(client: tuple[str, int] | None) -> CallerKeys:
    key = f"ip:{client[0]}" if client else "ip:unknown"
    return CallerKeys(rate=key, tenant=key)


class CallerDirectory:
    """Bearer token -> its ``CallerKeys`` (None: not a valid credential), cached."""

    def __init__(self, session_factory: sessionmaker[Session], secret: str, *,
                 ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.session_factory, self.secret = session_factory, secret
        self.ttl_s, self.clock = ttl_s, clock
        self._cache: OrderedDict[str, tuple[float, CallerKeys | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.lookups = 0

    def cached(self, token: str) -> tuple[bool, CallerKeys | None]:
        """(known, keys) from the cache alone: no database call (safe on the event loop)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            hit = self._cache.get(digest)
            if hit is None or self.clock() - hit[0] >= self.ttl_s:
                return False, None
            self._cache.move_to_end(digest)
            return True, hit[1]

    def look_up(self, token: str) -> CallerKeys | None:
        """Ask the database (blocking: run it in a worker thread) and cache the answer."""
        if tokens.key_prefix(token) is None and tokens.read_token(self.secret, token) is None:
            return None  # neither an API key nor a validly signed login token: no query
        self.lookups += 1
        with session_scope(self.session_factory) as db:
            principal = service.identify(db, token=token, secret=self.secret,
                                         now=datetime.now(UTC))
        keys = None if principal is None else CallerKeys(
            rate=principal.actor, tenant=f"org:{principal.org_id}")
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            self._cache[digest] = (self.clock(), keys)
            self._cache.move_to_end(digest)
            while len(self._cache) > MAX_TOKENS:
                self._cache.popitem(last=False)
        return keys


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None
