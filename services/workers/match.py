"""Quote requests on a Redis stream, solved by matcher workers (``sharefab worker match``).

``POST /orders/{id}/quotes?wait=false`` appends ``{order, time_limit_s}`` to the stream
``<prefix>quote-requests`` and answers 202; workers of the consumer group ``matchers`` take
entries, price the order with ``services.flows.pricing.price_order`` (the same function the
view calls: market view, engine, quotes stored in one transaction), then XACK. Following the
Redis stream rules: a worker first re-reads its own pending entries (ID 0) after a
restart, takes over entries a dead worker left pending for longer than ``claim_idle_ms``
(XAUTOCLAIM), and acknowledges only after the commit.

Exactly once in effect (issue 12):
- a lease: while a solve runs, a thread re-claims the entry for its own consumer every
  ``claim_idle_ms / 3`` (``XCLAIM ... 0 <id> JUSTID`` resets the idle time without counting a
  delivery), so no other worker takes over a live solve however long it runs; a worker killed
  mid-solve stops renewing, and the entry is taken over ``claim_idle_ms`` later;
- idempotent by request id (the entry id): the quotes are stored in the same transaction as a
  ``quote_jobs`` row keyed by it, so a second solve of the same request stores nothing new;
- dead consumers (no pending entries, silent for ``reap_idle_ms``) are removed from the group
  (XGROUP DELCONSUMER);
- dead letters: a request that cannot succeed (unknown or already booked order, an order the
  market cannot serve, engine error), or one taken over more than ``max_attempts`` times (it
  kills or hangs every worker), goes to the stream ``<prefix>quote-requests:dead`` with the
  reason. A database outage leaves it pending for a retry.

The embedded mode runs one worker thread inside the API on an in-process fakeredis.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from services.core.db import session_scope
from services.core.errors import ConflictError, NotFoundError
from services.flows import pricing
from services.jobs import service as job_service
from services.jobs.models import JobState
from services.live.redis_store import redis_from_url
from services.live.store import LiveStateStore
from services.quotes.runner import DEFAULT_CANDIDATES, QuoteFn, QuoteRunner

log = logging.getLogger(__name__)
Entry = tuple[str, dict[str, str]]


def make_redis(url: str | None, *, timeout_s: float = 2.0) -> redis.Redis:
    """A client of ``url``, or an in-process fakeredis when unset (one process only).

    Every call fails within ``timeout_s`` (connect and socket timeouts) instead of hanging on
    a stalled server; blocking reads ask for less than that (``take`` blocks at most 1 s).
    """
    if url:
        return redis_from_url(url, decode_responses=True, health_check_interval=30,
                              socket_timeout=timeout_s + 1.0, socket_connect_timeout=timeout_s)
    import fakeredis

    client: redis.Redis = fakeredis.FakeRedis(decode_responses=True)
    return client


class QuoteQueue:
    """The stream of quote requests and its consumer group."""

    group = "matchers"

    def __init__(self, client: redis.Redis, prefix: str = "sharefab:",
                 claim_idle_ms: int = 15_000, max_attempts: int = 3,
                 reap_idle_ms: int | None = None) -> None:
        self.client = client
        self.prefix = prefix
        self.stream = f"{prefix}quote-requests"
        self.dead = f"{prefix}quote-requests:dead"
        self.claim_idle_ms = claim_idle_ms
        self.max_attempts = max_attempts
        self.reap_idle_ms = reap_idle_ms if reap_idle_ms is not None else 4 * claim_idle_ms
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

    def deliveries(self, entry_id: str) -> int:
        """How often the entry was handed out (first read + every take-over)."""
        rows: Any = self.client.xpending_range(self.stream, self.group, min=entry_id,
                                               max=entry_id, count=1)
        return int(rows[0]["times_delivered"]) if rows else 0

    def renew(self, consumer: str, entry_id: str) -> None:
        """Reset the entry's idle time (the lease) without counting a delivery."""
        self.client.xclaim(self.stream, self.group, consumer, 0, [entry_id], justid=True)

    def reap_consumers(self, *, keep: str) -> list[str]:
        """Remove consumers holding nothing that were silent for ``reap_idle_ms``."""
        self.ensure_group()
        removed = []
        consumers: Any = self.client.xinfo_consumers(self.stream, self.group)
        for info in consumers:
            name = _text(info["name"])
            if name != keep and int(info["pending"]) == 0 and \
                    int(info["idle"]) > self.reap_idle_ms:
                self.client.xgroup_delconsumer(self.stream, self.group, name)
                removed.append(name)
        return removed

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

    def waiting(self) -> int:
        """Requests not yet handed to a worker, plus those being solved (the queue depth)."""
        self.ensure_group()
        groups: Any = self.client.xinfo_groups(self.stream)
        for group in groups:
            if _text(group["name"]) == self.group:
                lag = group.get("lag")
                return int(lag or 0) + int(group["pending"])
        return 0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(raw: Any) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


class Lease:
    """Keeps one entry claimed by its consumer while a solve runs (a renewing thread)."""

    def __init__(self, queue: QuoteQueue, consumer: str, entry_id: str) -> None:
        self.queue, self.consumer, self.entry_id = queue, consumer, entry_id
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="match-lease", daemon=True)

    def _run(self) -> None:
        period_s = max(0.05, self.queue.claim_idle_ms / 3000)
        while not self._stop.wait(period_s):
            try:
                self.queue.renew(self.consumer, self.entry_id)
                self.renewals += 1
            except redis.RedisError as exc:  # Redis blinked: the next renewal may succeed
                log.warning("match: lease of %s not renewed: %s", self.entry_id, exc)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class MatchWorker:
    """Takes quote requests off the queue and stores the engine's alternatives, once."""

    def __init__(self, queue: QuoteQueue, session_factory: sessionmaker[Session],
                 live: LiveStateStore, quote_fn: QuoteFn, clock: Callable[[], datetime],
                 consumer: str, *, candidates_per_step: int = DEFAULT_CANDIDATES) -> None:
        self.queue, self.session_factory, self.live = queue, session_factory, live
        self.clock, self.consumer = clock, consumer
        # One solve at a time (this thread): a worker is scaled by running more of them. The
        # candidates per step are the API's (Settings.quote_candidates_per_step), so a
        # wait=false quote is searched as widely as a waited one.
        self.solve = QuoteRunner(quote_fn, concurrency=1,
                                 candidates_per_step=candidates_per_step)
        self.solved = 0  # requests this worker stored quotes for
        self.duplicates = 0  # requests found already answered: nothing stored
        self._reaped_at = 0.0

    def handle(self, entry_id: str, fields: dict[str, str]) -> bool:
        """Solve one request; True when it is finished with (stored, duplicate, dead-lettered)."""
        order_id = fields.get("order", "")
        try:
            attempts = self.queue.deliveries(entry_id)
            if attempts > self.queue.max_attempts:
                return self._give_up(entry_id, fields, order_id, attempts,
                                     f"taken over {attempts - 1} times without an answer "
                                     f"(the solve kills or hangs its worker)")
            with session_scope(self.session_factory) as db:
                if job_service.get(db, request_id=entry_id) is not None:
                    return self._duplicate(entry_id)
            time_limit_s = float(fields.get("time_limit_s", "5"))
            with Lease(self.queue, self.consumer, entry_id):
                pricing.price_order(
                    self.session_factory, order_id=order_id, time_limit_s=time_limit_s,
                    solve=self.solve, unavailable=self.live.unavailable, clock=self.clock,
                    on_stored=lambda db, rows: job_service.create(
                        db, request_id=entry_id, order_id=order_id, consumer=self.consumer,
                        attempts=max(attempts, 1), quote_ids=[r.id for r in rows],
                        now=self.clock()))
        except IntegrityError as exc:
            # Another worker committed this request first (we lost the lease while stalled):
            # our transaction rolled back, so nothing new is stored.
            if self._answered(entry_id):
                return self._duplicate(entry_id)
            self.queue.dead_letter(entry_id, fields, f"IntegrityError: {exc.orig}")
            return True
        except (OperationalError, SqlTimeoutError):
            log.exception("match: database unavailable; request %s stays pending", entry_id)
            return False
        except (NotFoundError, ConflictError, ValueError) as exc:
            log.warning("match: request %s for order %r refused: %s", entry_id, order_id, exc)
            self.queue.dead_letter(entry_id, fields, str(exc))
            return True
        except redis.RedisError:
            raise  # the run loop backs off; the entry stays pending
        except Exception as exc:
            log.exception("match: request %s for order %r failed", entry_id, order_id)
            self.queue.dead_letter(entry_id, fields, f"{type(exc).__name__}: {exc}")
            return True
        self.solved += 1
        self.queue.ack(entry_id)
        return True

    def _answered(self, entry_id: str) -> bool:
        with session_scope(self.session_factory) as db:
            return job_service.get(db, request_id=entry_id) is not None

    def _duplicate(self, entry_id: str) -> bool:
        log.info("match: request %s was already answered; nothing stored", entry_id)
        self.duplicates += 1
        self.queue.ack(entry_id)
        return True

    def _give_up(self, entry_id: str, fields: dict[str, str], order_id: str, attempts: int,
                 reason: str) -> bool:
        log.error("match: request %s for order %r dead-lettered: %s", entry_id, order_id, reason)
        try:
            with session_scope(self.session_factory) as db:
                job_service.create(db, request_id=entry_id, order_id=order_id,
                                   consumer=self.consumer, attempts=attempts, quote_ids=[],
                                   now=self.clock(), status=JobState.DEAD, reason=reason)
        except IntegrityError:
            return self._duplicate(entry_id)
        except Exception as exc:  # an unknown order has no row to hang the record on
            log.info("match: no job record for %s: %s", entry_id, exc)
        self.queue.dead_letter(entry_id, fields, reason)
        return True

    def run_once(self, *, block_ms: int = 1000) -> int:
        """Handle what is there (waiting up to ``block_ms``); the number of requests finished."""
        return sum(self.handle(i, f) for i, f in self.queue.take(self.consumer,
                                                                   block_ms=block_ms))

    def reap(self) -> None:
        """Now and then, remove consumers that died (their entries were taken over)."""
        now = time.monotonic()
        if now - self._reaped_at < self.queue.claim_idle_ms / 1000:
            return
        self._reaped_at = now
        for name in self.queue.reap_consumers(keep=self.consumer):
            log.info("match: removed dead consumer %s", name)

    def run(self, stop: threading.Event, *, block_ms: int = 1000) -> None:
        log.info("match worker %s reading %s", self.consumer, self.queue.stream)
        while not stop.is_set():
            try:
                if self.run_once(block_ms=block_ms) == 0 and self.queue.pending():
                    stop.wait(1.0)  # own entries left pending by a DB outage: back off
                self.reap()
            except redis.RedisError:
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

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
