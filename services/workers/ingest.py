"""The MQTT ingest wired to the platform: database effects, the directory, the worker command.

``sharefab worker ingest`` runs one ingest process against Mosquitto with the MQTT 5 shared
subscription ``$share/ingest/sharefab/v1/#``: start several and each message goes to one of
them; the per-topic seq check lives in Redis, so they agree. The API process runs the same
ingest in-process through ``services.workers.mqtt_runtime`` in the embedded mode.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from connectors.dispatch import Dispatcher
from connectors.ingest import EffectUnavailable, Ingest
from connectors.metrics import register_mqtt_metrics
from connectors.mqtt import IngestClient
from connectors.state import RedisState
from connectors.topics import ALL_FILTER
from domain.model import Window
from services import resources
from services.audit import service as audit
from services.bookings.dispatch import work_order_fields
from services.bookings.models import Booking, BookingRead
from services.core.broker import broker_address
from services.core.clock import Clock, platform_clock, wall_clock
from services.core.db import session_scope
from services.factories.models import Factory
from services.flows import shopfloor
from services.live.store import LiveStateStore
from services.resources.models import Resource
from services.resources.service import to_wire as resource_wire
from services.workers.heartbeat import Heartbeat

log = logging.getLogger(__name__)

SOURCE = "mqtt"
ACTOR = "gateway"
# A resource silent this long is treated as down: its unstarted lots are re-planned
# (the default of SHAREFAB_OFFLINE_GRACE_S).
OFFLINE_GRACE = timedelta(minutes=5)

# Per process, like connectors.metrics' ingest counters (each worker serves its own /metrics).
INGEST_CONFLICT_RETRIES = Counter(
    "sharefab_ingest_conflict_retries",
    "Ingest transactions retried after a constraint, deadlock or serialization conflict")
INGEST_CONFLICTS_REFUSED = Counter(
    "sharefab_ingest_conflicts_refused",
    "Messages refused (effect_failed) because their transaction kept conflicting")

# SQLSTATEs of a transaction that lost a race and may simply be run again (PostgreSQL).
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected


class EffectConflict(Exception):  # noqa: N818 - a condition
    """A message's transaction kept conflicting after every retry: the ingest refuses the
    message as ``effect_failed`` (counted, published to ``_rejected``), never as applied."""


def is_conflict(exc: BaseException) -> bool:
    """A constraint violation, deadlock or serialization failure: another transaction won a
    race and this one, run again on the new state, may well succeed."""
    if isinstance(exc, IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if code in _RETRYABLE_SQLSTATES:
            return True
        # SQLite's one writer: another connection held the lock past the busy timeout.
        return isinstance(exc, OperationalError) and "database is locked" in str(orig)
    return False


class DbEffects:
    """Windows, progress and shop-floor facts into the database, one transaction per message.

    A database that is down or timing out raises ``EffectUnavailable``: the MQTT client keeps
    the message unacknowledged and retries it (a failed transaction stored nothing, and the
    writes are idempotent: they replace the windows, take the larger counts).
    A transaction that loses a race (constraint violation, deadlock, serialization failure)
    is run again here, up to ``conflict_attempts`` times with jittered exponential backoff;
    only then is the message refused (``EffectConflict``: counted, never acknowledged as
    applied). Anything else (an unknown booking) is the message's fault.

    Everything outside the database (work orders to gateways; event log lines, see
    ``services.events.service``) happens after the commit, once: a rolled-back attempt leaves
    no trace.

    Facts that break a plan (a machine down, a calendar stranding a booking, a declined work
    order, a short lot) repair the affected orders in the same transaction; the new work
    orders go to ``dispatch`` once it is committed.
    """

    def __init__(self, session_factory: sessionmaker[Session], *,
                 unavailable: Callable[[], set[str]] = set,
                 dispatch: Callable[[list[BookingRead]], object] | None = None,
                 clock: Callable[[], datetime] = wall_clock,
                 overrun_grace: timedelta = shopfloor.OVERRUN_GRACE,
                 conflict_attempts: int = 5, conflict_backoff_s: float = 0.02,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.session_factory = session_factory
        self.unavailable = unavailable
        self.dispatch = dispatch
        self.clock = clock
        self.overrun_grace = overrun_grace
        self.conflict_attempts = max(1, conflict_attempts)
        self.conflict_backoff_s = conflict_backoff_s
        self.sleep = sleep
        self.conflict_retries = 0  # in this process; also the Prometheus counters above

    def _transaction(self, work: Callable[[Session], list[BookingRead]]) -> None:
        """Run ``work`` in one transaction, retrying conflicts; dispatch what it answers
        after the commit."""
        for attempt in range(1, self.conflict_attempts + 1):
            try:
                with _outage_is_unavailable(), session_scope(self.session_factory) as session:
                    send = work(session)
            except _Conflict as conflict:
                exc = conflict.__cause__ or conflict
                if attempt == self.conflict_attempts:
                    INGEST_CONFLICTS_REFUSED.inc()
                    raise EffectConflict(f"still conflicting after {attempt} attempts: "
                                         f"{type(exc).__name__}: {exc}"[:300]) from exc
                self.conflict_retries += 1
                INGEST_CONFLICT_RETRIES.inc()
                delay = self.conflict_backoff_s * 2 ** (attempt - 1)
                log.info("ingest transaction conflicted (%s); attempt %d in %.3fs",
                         type(exc).__name__, attempt + 1, delay)
                self.sleep(delay * (0.5 + random.random()))  # jitter: racing writers part
                continue
            self._send(send)
            return

    def replace_windows(self, resource: str, windows: list[Window]) -> None:
        self._transaction(lambda session: self._replace_windows(session, resource, windows))

    def _replace_windows(self, session: Session, resource: str,
                         windows: list[Window]) -> list[BookingRead]:
        # Locked first, as replace_windows locks it: ``before`` is the calendar replaced.
        row = session.get(Resource, resource, with_for_update=True)
        before = resource_wire(row) if row is not None else None
        stranded = resources.replace_windows(session, resource_id=resource,
                                             windows=windows, source=SOURCE,
                                             since=self.clock())
        results = shopfloor.calendar_stranded(
            session, resource_id=resource, booking_ids=stranded, now=self.clock(),
            unavailable=self.unavailable(), actor=ACTOR) if stranded else []
        # A gateway re-publishes its calendar: only a different one is a change.
        after = resource_wire(row) if row is not None else None
        if before is not None and after is not None and before.windows != after.windows:
            _audit_gateway(session, resource, action="resource.windows_replaced",
                           before=before, after=after)
        return [b for r in results for b in shopfloor.work_orders_of(session, r)]

    def record_progress(self, booking: str, done: int, scrap: int) -> None:
        def work(session: Session) -> list[BookingRead]:
            return shopfloor.report_progress(session, booking_id=booking, done=done,
                                             scrap=scrap, now=self.clock(),
                                             unavailable=self.unavailable(), actor=ACTOR,
                                             grace=self.overrun_grace).send
        self._transaction(work)

    def resource_down(self, resource: str) -> None:
        self._transaction(lambda session: self._resource_down(session, resource))

    def _resource_down(self, session: Session, resource: str) -> list[BookingRead]:
        results = shopfloor.resource_down(session, resource_id=resource, now=self.clock(),
                                          unavailable=self.unavailable() | {resource},
                                          actor=ACTOR)
        # A machine reports "down" at every heartbeat while it is down; what changes stored
        # state is the first report with open lots on it, which repairs their orders.
        if results:
            _audit_gateway(session, resource, action="resource.down", before=None,
                           after={"status": "down",
                                  "repaired_orders": [r.order_id for r in results]})
        return [b for r in results for b in shopfloor.work_orders_of(session, r)]

    def reply_work_order(self, booking: str, accepted: bool, reason: str | None) -> None:
        def work(session: Session) -> list[BookingRead]:
            if accepted:
                shopfloor.accept_work(session, booking_id=booking, actor=ACTOR, now=self.clock())
                return []
            result = shopfloor.decline_work(
                session, booking_id=booking, reason=reason or "declined by the gateway",
                now=self.clock(), unavailable=self.unavailable(), actor=ACTOR)
            return shopfloor.work_orders_of(session, result)
        self._transaction(work)

    def sweep_offline(self, live: LiveStateStore, grace: timedelta) -> None:
        """Repair orders on resources offline past ``grace`` (called every few seconds)."""
        def work(session: Session) -> list[BookingRead]:
            results = shopfloor.offline_sweep(session, live=live, now=self.clock(),
                                              grace=grace, actor=ACTOR)
            return [b for r in results for b in shopfloor.work_orders_of(session, r)]
        self._transaction(work)

    def sweep_overrun(self) -> None:
        """Repair orders whose lots overrun their bookings (called every few seconds)."""
        def work(session: Session) -> list[BookingRead]:
            results = shopfloor.overrun_sweep(session, now=self.clock(),
                                              grace=self.overrun_grace,
                                              unavailable=self.unavailable(), actor=ACTOR)
            return [b for r in results for b in shopfloor.work_orders_of(session, r)]
        self._transaction(work)

    def _send(self, work_orders: list[BookingRead]) -> None:
        """Dispatch after the commit: only work orders of stored bookings go out."""
        if work_orders and self.dispatch is not None:
            try:
                self.dispatch(work_orders)
            except Exception:  # the bookings stand; the gateway re-syncs from the API
                log.exception("dispatching %d work orders failed", len(work_orders))


def _audit_gateway(session: Session, resource_id: str, *, action: str, before: Any,
                   after: Any) -> None:
    """Audit a change a factory's gateway made over MQTT, in the change's own transaction.

    The broker's ACL lets only ``gw/<park>/<factory>`` publish under that factory's topics, so
    the gateway of the resource's factory is the actor, on behalf of its organisation.
    """
    row = session.get(Resource, resource_id)
    if row is None:
        return
    factory = row.factory
    audit.record(session, actor=f"gateway:gw/{factory.park_id}/{factory.id}",
                 actor_org=factory.org_id, owner_org=factory.org_id, action=action,
                 object_type="resource", object_id=resource_id, before=before, after=after)


class _Conflict(Exception):  # noqa: N818 - internal marker, its __cause__ is the error
    pass


@contextmanager
def _outage_is_unavailable() -> Iterator[None]:
    """Conflicts become ``_Conflict`` (retried by ``DbEffects._transaction``), outages
    ``EffectUnavailable`` (retried unacknowledged by the MQTT client)."""
    try:
        yield
    except DBAPIError as exc:
        if is_conflict(exc):
            raise _Conflict() from exc
        if isinstance(exc, (OperationalError, InterfaceError)):
            raise EffectUnavailable(f"database unavailable: {type(exc).__name__}") from exc
        raise
    except SqlTimeoutError as exc:
        raise EffectUnavailable(f"database unavailable: {type(exc).__name__}") from exc


class DbDirectory:
    """Known parks, factories and resources from the database, cached.

    The whole table is reloaded every ``refresh_s``. An id missing from the cache is looked up
    at once by primary key (a factory registered a second ago must not lose its first retained
    messages); each unknown id at most once per ``miss_ttl_s``, and at most
    ``max_lookups_per_s`` lookups in all, so a flood of made-up ids cannot hammer the database.
    Past that budget (a burst of retained messages of departed factories uses it up in one
    go) an unknown id is answered from one full reload instead, at most one per
    ``reload_min_s``: a factory registered in that second is found by the next reload, not
    refused until the periodic one.
    """

    def __init__(self, session_factory: sessionmaker[Session], *, refresh_s: float = 30.0,
                 miss_ttl_s: float = 1.0, max_lookups_per_s: int = 50,
                 reload_min_s: float = 0.25,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.session_factory = session_factory
        self.refresh_s, self.miss_ttl_s = refresh_s, miss_ttl_s
        self.max_lookups_per_s = max_lookups_per_s
        self.reload_min_s = reload_min_s
        self._reloaded_at = float("-inf")  # the last full reload, periodic or on demand
        self.budget_reloads = 0
        self.clock = clock
        self._where: dict[str, tuple[str, str]] = {}
        self._by_factory: dict[tuple[str, str], list[str]] = {}
        self._loaded_at = float("-inf")
        self._misses: dict[object, float] = {}
        self._lookups: deque[float] = deque()
        self._lock = threading.Lock()
        self.refreshes = 0
        self.lookups = 0

    def refresh(self) -> None:
        with session_scope(self.session_factory) as session:
            where = resources.known_ids(session)
        by_factory: dict[tuple[str, str], list[str]] = {}
        for rid, gw in sorted(where.items()):
            by_factory.setdefault(gw, []).append(rid)
        with self._lock:
            self._where, self._by_factory = where, by_factory
            self._loaded_at = self._reloaded_at = self.clock()
            self.refreshes += 1

    def _fresh(self) -> None:
        if self.clock() - self._loaded_at > self.refresh_s:
            try:
                self.refresh()
            except Exception as exc:  # keep the old view when the database blinks
                log.warning("directory refresh failed: %s", exc)
                self._loaded_at = self.clock()

    def _may_look_up(self, key: object) -> bool:
        """True: look ``key`` up by primary key. False: don't (a recent miss, or the budget
        is spent, in which case a full reload, when one is due, has refreshed the cache)."""
        now = self.clock()
        if now - self._misses.get(key, float("-inf")) < self.miss_ttl_s:
            return False
        while self._lookups and now - self._lookups[0] > 1.0:
            self._lookups.popleft()
        if len(self._lookups) >= self.max_lookups_per_s:
            self._reload_when_due(now)
            return False
        if len(self._misses) > 10_000:
            self._misses.clear()
        self._misses[key] = now
        self._lookups.append(now)
        self.lookups += 1
        return True

    def _reload_when_due(self, now: float) -> None:
        """The lookup budget is spent: one full reload, at most one per ``reload_min_s``."""
        if now - self._reloaded_at < self.reload_min_s:
            return
        self._reloaded_at = now
        self.budget_reloads += 1
        try:
            self.refresh()
        except Exception as exc:  # keep the old view when the database blinks
            log.warning("directory reload failed: %s", exc)

    def _look_up(self, condition: Any) -> None:
        """Load the resources matching ``condition`` into the cache."""
        query = (select(Resource.id, Factory.park_id, Factory.id)
                 .join(Factory, Resource.factory_id == Factory.id).where(condition))
        try:
            with session_scope(self.session_factory) as session:
                rows = session.execute(query).all()
        except Exception as exc:
            log.warning("directory lookup failed: %s", exc)
            return
        with self._lock:
            for rid, park, factory in rows:
                self._where[rid] = (park, factory)
                known = self._by_factory.setdefault((park, factory), [])
                if rid not in known:
                    known.append(rid)

    def has_factory(self, park: str, factory: str) -> bool:
        self._fresh()
        if (park, factory) not in self._by_factory and self._may_look_up((park, factory)):
            self._look_up((Factory.id == factory) & (Factory.park_id == park))
        return (park, factory) in self._by_factory

    def has_resource(self, park: str, factory: str, resource: str) -> bool:
        self._fresh()
        if self._where.get(resource) != (park, factory) and self._may_look_up(resource):
            self._look_up(Resource.id == resource)
        return self._where.get(resource) == (park, factory)

    def resources_of(self, park: str, factory: str) -> list[str]:
        self._fresh()
        return list(self._by_factory.get((park, factory), ()))

    def locate(self, resource: str) -> tuple[str, str] | None:
        self._fresh()
        if resource not in self._where and self._may_look_up(resource):
            self._look_up(Resource.id == resource)
        return self._where.get(resource)

    def booking_resource(self, booking: str) -> str | None:
        """Looked up each time (progress is rare next to state; a booking may be a second
        old). A database error reads as unknown: refused, counted, never applied."""
        try:
            with session_scope(self.session_factory) as session:
                return session.scalar(select(Booking.resource_id).where(Booking.id == booking))
        except Exception as exc:
            log.warning("booking lookup failed: %s", exc)
            return None

    def factories(self) -> dict[tuple[str, str], list[str]]:
        """(park, factory) -> resource ids: what the demo gateways simulate."""
        self._fresh()
        return {k: list(v) for k, v in self._by_factory.items()}


def effects_for(settings: Any, session_factory: sessionmaker[Session], *,
                unavailable: Callable[[], set[str]] = set,
                clock: Clock | None = None) -> DbEffects:
    """The database effects as the settings say (overrun grace, the platform clock)."""
    grace = float(getattr(settings, "overrun_grace_s", shopfloor.OVERRUN_GRACE.total_seconds()))
    return DbEffects(session_factory, unavailable=unavailable,
                     clock=clock or platform_clock(settings),
                     overrun_grace=timedelta(seconds=grace))


def offline_grace(settings: Any) -> timedelta:
    return timedelta(seconds=float(getattr(settings, "offline_grace_s",
                                           OFFLINE_GRACE.total_seconds())))


def build_ingest(state: RedisState, session_factory: sessionmaker[Session], *,
                 unavailable: Callable[[], set[str]] = set, settings: Any = None) -> Ingest:
    """The ingest of one worker process: its validation judges timestamps on the same
    (platform) clock its effects judge lots on."""
    register_mqtt_metrics(state)
    clock = platform_clock(settings)
    return Ingest(state, DbDirectory(session_factory),
                  effects_for(settings, session_factory, unavailable=unavailable, clock=clock),
                  clock=clock)


def attach_dispatcher(ingest: Ingest, client: IngestClient) -> None:
    """Repaired work orders leave through the ingest's own connection (QoS 1)."""
    effects = ingest.effects
    if isinstance(effects, DbEffects):
        # A paho client publishes exactly like connectors.mqtt.Publisher.
        dispatcher = Dispatcher(client.client, ingest.directory,  # type: ignore[arg-type]
                                work_order_fields)
        effects.dispatch = dispatcher.dispatch


def run(settings: Any, *, processes_hint: str = "", sweep_every_s: float = 10.0,
        topic_filter: str | None = None) -> None:
    """Run one ingest process until SIGINT/SIGTERM (the ``sharefab worker ingest`` command);
    ``topic_filter``: only those topics (one park's), else all of ``sharefab/v1/#``."""
    from services.core.db import engine_for, make_session_factory
    from services.live.redis_store import make_live_store

    if not settings.mqtt_url:
        raise SystemExit("SHAREFAB_MQTT_URL is not set: the separate ingest worker needs a real "
                         "broker (the embedded one lives inside `sharefab serve`)")
    if not settings.redis_url:
        raise SystemExit("SHAREFAB_REDIS_URL is not set: a separate worker needs the real Redis "
                         "(the in-process stand-in is not shared between processes)")
    engine = engine_for(settings)
    live = make_live_store(settings)
    ingest = build_ingest(live.state, make_session_factory(engine), unavailable=live.unavailable,
                          settings=settings)
    # A stable worker id (the Procfile sets SHAREFAB_WORKER_ID) makes the broker session
    # persistent: messages held unacknowledged when the process dies are delivered again to
    # it when it restarts. Without one, a dead process's session would keep taking messages.
    worker_id = settings.worker_id
    name = f"ingest-{socket.gethostname()}-{worker_id or os.getpid()}"
    client = IngestClient(broker_address(settings), ingest,
                          topic_filter=topic_filter or ALL_FILTER,
                          group=settings.mqtt_share_group, client_id=name[:64],
                          persistent=bool(worker_id), session_expiry_s=600)
    attach_dispatcher(ingest, client)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    serve_worker_metrics(settings)
    beat = Heartbeat(live.state.redis, settings.redis_key_prefix, "ingest", name,
                     ttl_s=settings.worker_heartbeat_ttl_s,
                     healthy=client.subscribed.is_set).start()
    if not client.start(timeout_s=30):
        log.warning("ingest: not connected yet to %s; paho keeps retrying", client.address)
    log.info("ingest worker %s running %s(subscription %s)", name, processes_hint,
             client.subscription)
    grace = offline_grace(settings)
    while not stop.wait(sweep_every_s):
        if isinstance(ingest.effects, DbEffects):
            try:
                ingest.effects.sweep_offline(live, grace)
                ingest.effects.sweep_overrun()
            except Exception:  # the sweep retries in 10 s; the ingest goes on
                log.exception("offline or overrun sweep failed")
        log.info("ingest: %d messages, %d applied, %d acked, rejected %s, %d batch failures, "
                 "%d deferred, %d shed", ingest.messages, ingest.applied, client.acked,
                 dict(ingest.rejected), client.batch_failures, client.deferred, client.shed)
    beat.stop()
    client.stop()
    engine.dispose()


def serve_worker_metrics(settings: Any) -> None:
    """Prometheus text of this worker process on worker_metrics_host:worker_metrics_port
    (port 0: off)."""
    port = int(getattr(settings, "worker_metrics_port", 0))
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, addr=str(getattr(settings, "worker_metrics_host", "127.0.0.1")))
