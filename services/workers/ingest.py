"""The MQTT ingest wired to the platform: database effects, the directory, the worker command.

``sharefab worker ingest`` runs one ingest process against Mosquitto with the MQTT 5 shared
subscription ``$share/ingest/sharefab/v1/#``: start several and each message goes to one of
them; the per-topic seq check lives in Redis, so they agree. The API process runs the same
ingest in-process through ``services.workers.mqtt_runtime`` in the embedded mode.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from connectors.ingest import EffectUnavailable, Ingest
from connectors.metrics import register_mqtt_metrics
from connectors.mqtt import IngestClient
from connectors.state import RedisState
from domain.model import Window
from services import bookings, resources
from services.bookings.models import Booking
from services.core.broker import broker_address
from services.core.db import session_scope
from services.factories.models import Factory
from services.resources.models import Resource
from services.workers.heartbeat import Heartbeat

log = logging.getLogger(__name__)

SOURCE = "mqtt"


class DbEffects:
    """Windows and progress into the database, one short transaction per message.

    A database that is down or timing out raises ``EffectUnavailable``: the MQTT client keeps
    the message unacknowledged and retries it (both writes are idempotent: they replace the
    windows, set the counts). Anything else (an unknown booking) is the message's fault.
    """

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def replace_windows(self, resource: str, windows: list[Window]) -> None:
        with _outage_is_unavailable(), session_scope(self.session_factory) as session:
            resources.replace_windows(session, resource_id=resource, windows=windows,
                                      source=SOURCE)

    def record_progress(self, booking: str, done: int, scrap: int) -> None:
        with _outage_is_unavailable(), session_scope(self.session_factory) as session:
            bookings.record_progress(session, booking_id=booking, done=done, scrap=scrap)


@contextmanager
def _outage_is_unavailable() -> Iterator[None]:
    try:
        yield
    except (OperationalError, SqlTimeoutError, InterfaceError) as exc:
        raise EffectUnavailable(f"database unavailable: {type(exc).__name__}") from exc


class DbDirectory:
    """Known parks, factories and resources from the database, cached.

    The whole table is reloaded every ``refresh_s``. An id missing from the cache is looked up
    at once by primary key (a factory registered a second ago must not lose its first retained
    messages); each unknown id at most once per ``miss_ttl_s``, and at most
    ``max_lookups_per_s`` lookups in all, so a flood of made-up ids cannot hammer the database.
    """

    def __init__(self, session_factory: sessionmaker[Session], *, refresh_s: float = 30.0,
                 miss_ttl_s: float = 1.0, max_lookups_per_s: int = 50,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.session_factory = session_factory
        self.refresh_s, self.miss_ttl_s = refresh_s, miss_ttl_s
        self.max_lookups_per_s = max_lookups_per_s
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
            self._loaded_at = self.clock()
            self.refreshes += 1

    def _fresh(self) -> None:
        if self.clock() - self._loaded_at > self.refresh_s:
            try:
                self.refresh()
            except Exception as exc:  # keep the old view when the database blinks
                log.warning("directory refresh failed: %s", exc)
                self._loaded_at = self.clock()

    def _may_look_up(self, key: object) -> bool:
        now = self.clock()
        if now - self._misses.get(key, float("-inf")) < self.miss_ttl_s:
            return False
        while self._lookups and now - self._lookups[0] > 1.0:
            self._lookups.popleft()
        if len(self._lookups) >= self.max_lookups_per_s:
            return False
        if len(self._misses) > 10_000:
            self._misses.clear()
        self._misses[key] = now
        self._lookups.append(now)
        self.lookups += 1
        return True

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


def build_ingest(state: RedisState, session_factory: sessionmaker[Session]) -> Ingest:
    register_mqtt_metrics(state)
    return Ingest(state, DbDirectory(session_factory), DbEffects(session_factory))


def run(settings: Any, *, processes_hint: str = "") -> None:
    """Run one ingest process until SIGINT/SIGTERM (the ``sharefab worker ingest`` command)."""
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
    ingest = build_ingest(live.state, make_session_factory(engine))
    # A stable worker id (the Procfile sets SHAREFAB_WORKER_ID) makes the broker session
    # persistent: messages held unacknowledged when the process dies are delivered again to
    # it when it restarts. Without one, a dead process's session would keep taking messages.
    worker_id = os.environ.get("SHAREFAB_WORKER_ID", "")
    name = f"ingest-{socket.gethostname()}-{worker_id or os.getpid()}"
    client = IngestClient(broker_address(settings), ingest,
                          group=settings.mqtt_share_group, client_id=name[:64],
                          persistent=bool(worker_id), session_expiry_s=600)
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
    while not stop.wait(10):
        log.info("ingest: %d messages, %d applied, %d acked, rejected %s, %d batch failures, "
                 "%d deferred, %d shed", ingest.messages, ingest.applied, client.acked,
                 dict(ingest.rejected), client.batch_failures, client.deferred, client.shed)
    beat.stop()
    client.stop()
    engine.dispose()


def serve_worker_metrics(settings: Any) -> None:
    """Prometheus text of this worker process on 127.0.0.1:worker_metrics_port (0: off)."""
    port = int(getattr(settings, "worker_metrics_port", 0))
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, addr="127.0.0.1")
