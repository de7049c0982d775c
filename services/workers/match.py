"""Quote requests on a Redis stream, solved by matcher workers (``sharefab worker match``).

``POST /orders/{id}/quotes?wait=false`` appends ``{order, time_limit_s}`` to the stream
``<prefix>quote-requests`` and answers 202; workers of the consumer group ``matchers`` take
entries, price the order with ``services.flows.pricing.price_order`` (the same function the
view calls: market view, engine, quotes stored in one transaction), then XACK. Following the
Redis stream rules of DESIGN 6: a worker first re-reads its own pending entries (ID 0) after a
restart, takes over entries a dead worker left pending for longer than ``claim_idle_ms``
(XAUTOCLAIM), and acknowledges only after the commit. A request that cannot succeed (unknown or
already booked order, an order the market cannot serve, engine error) goes to the
dead-letter stream ``<prefix>quote-requests:dead`` with the reason; a database outage leaves it
pending for a retry.

The embedded mode runs one worker thread inside the API on an in-process fakeredis.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from services.core.errors import ConflictError, NotFoundError
from services.flows import pricing
from services.live.store import LiveStateStore
from services.quotes.runner import QuoteFn, QuoteRunner

log = logging.getLogger(__name__)
Entry = tuple[str, dict[str, str]]


def make_redis(url: str | None) -> redis.Redis:
    """A client of ``url``, or an in-process fakeredis when unset (one process only)."""
    if url:
        return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
    import fakeredis

    client: redis.Redis = fakeredis.FakeRedis(decode_responses=True)
    return client


class QuoteQueue:
    """The stream of quote requests and its consumer group."""

    group = "matchers"

    def __init__(self, client: redis.Redis, prefix: str = "sharefab:",
                 claim_idle_ms: int = 60_000) -> None:
        self.client = client
        self.stream = f"{prefix}quote-requests"
        self.dead = f"{prefix}quote-requests:dead"
        self.claim_idle_ms = claim_idle_ms
        self._group_ready = False

    def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def submit(self, *, order_id: str, time_limit_s: float) -> str:
        self.ensure_group()
        entry_id = self.client.xadd(self.stream, {"order": order_id,
                                                  "time_limit_s": str(time_limit_s)})
        return _text(entry_id)

    def take(self, consumer: str, *, count: int = 1, block_ms: int = 1000) -> list[Entry]:
        """Own pending entries first, then entries of dead consumers, then new ones."""
        self.ensure_group()
        mine = self._read(consumer, "0", count, None)
        if mine:
            return mine
        claimed = self.client.xautoclaim(self.stream, self.group, consumer,
                                         min_idle_time=self.claim_idle_ms, start_id="0-0",
                                         count=count)
        entries = [(_text(i), _fields(f)) for i, f in claimed[1] if f]
        if entries:
            return entries
        return self._read(consumer, ">", count, block_ms)

    def _read(self, consumer: str, start: str, count: int, block_ms: int | None) -> list[Entry]:
        answer: Any = self.client.xreadgroup(self.group, consumer, {self.stream: start},
                                             count=count, block=block_ms)
        return [(_text(i), _fields(f)) for _, items in answer or [] for i, f in items if f]

    def ack(self, entry_id: str) -> None:
        self.client.xack(self.stream, self.group, entry_id)

    def dead_letter(self, entry_id: str, fields: dict[str, str], reason: str) -> None:
        record: dict[Any, Any] = {**fields, "entry": entry_id, "reason": reason[:500]}
        self.client.xadd(self.dead, record)
        self.ack(entry_id)

    def pending(self) -> int:
        self.ensure_group()
        info: Any = self.client.xpending(self.stream, self.group)
        return int(info["pending"])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(raw: Any) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


class MatchWorker:
    """Takes quote requests off the queue and stores the engine's alternatives."""

    def __init__(self, queue: QuoteQueue, session_factory: sessionmaker[Session],
                 live: LiveStateStore, quote_fn: QuoteFn, clock: Callable[[], datetime],
                 consumer: str) -> None:
        self.queue, self.session_factory, self.live = queue, session_factory, live
        self.clock, self.consumer = clock, consumer
        # One solve at a time: a worker process is scaled by running more of them.
        self.solve = QuoteRunner(quote_fn, concurrency=1)

    def handle(self, entry_id: str, fields: dict[str, str]) -> bool:
        """Solve one request; True when it is finished with (stored or dead-lettered)."""
        order_id = fields.get("order", "")
        try:
            time_limit_s = float(fields.get("time_limit_s", "5"))
            pricing.price_order(self.session_factory, order_id=order_id,
                                time_limit_s=time_limit_s, solve=self.solve,
                                unavailable=self.live.unavailable, clock=self.clock)
        except OperationalError:
            log.exception("match: database unavailable; request %s stays pending", entry_id)
            return False
        except (NotFoundError, ConflictError, ValueError) as exc:
            log.warning("match: request %s for order %r refused: %s", entry_id, order_id, exc)
            self.queue.dead_letter(entry_id, fields, str(exc))
            return True
        except Exception as exc:
            log.exception("match: request %s for order %r failed", entry_id, order_id)
            self.queue.dead_letter(entry_id, fields, f"{type(exc).__name__}: {exc}")
            return True
        self.queue.ack(entry_id)
        return True

    def run_once(self, *, block_ms: int = 1000) -> int:
        """Handle what is there (waiting up to ``block_ms``); the number of requests finished."""
        return sum(self.handle(i, f) for i, f in self.queue.take(self.consumer,
                                                                   block_ms=block_ms))

    def run(self, stop: threading.Event, *, block_ms: int = 1000) -> None:
        log.info("match worker %s reading %s", self.consumer, self.queue.stream)
        while not stop.is_set():
            try:
                if self.run_once(block_ms=block_ms) == 0 and self.queue.pending():
                    stop.wait(1.0)  # own entries left pending by a DB outage: back off
            except redis.ConnectionError:
                log.warning("match: Redis unreachable; retrying in 2 s")
                stop.wait(2.0)


class BackgroundMatcher:
    """The embedded mode's matcher: one ``MatchWorker`` on a daemon thread."""

    def __init__(self, worker: MatchWorker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.worker.run, args=(self._stop,),
                                        kwargs={"block_ms": 200}, name="match-worker",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
