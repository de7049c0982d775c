"""The market's slow-changing part, held in memory between quotes and dropped when it changes.

A quote needs every resource of its order's processes with its calendar: at 100,000 resources
that is some 40,000 resource rows and 250,000 windows, seconds of row decoding on each request
(bench/quote.py), although the market changes far less often than it is quoted. So each API
process keeps those rows, as domain objects, per process code, and reloads a process's entry
when the market it was read from is no longer the market in the database:

- this process's own writes: every session of the app's session factory that flushes or
  bulk-writes a market table (factories, resources, windows, parks, market) bumps ``version``
  when it commits;
- another process's writes (a second API replica, a CLI import): a fingerprint read on every
  quote (row counts of factories and resources, the newest window id: two index lookups and
  two counts) notices added or removed rows and any replaced calendar;
- an edit in place by another process (a resource's price changed by a second replica) changes
  no fingerprint: ``max_age_s`` bounds how long an entry is trusted at all.

Bookings, live availability and credit are not cached: they change with every accepted quote
and every heartbeat, and the view reads them fresh.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from domain import model as m
from services.factories.models import Factory
from services.resources.models import Resource, ResourceWindow

# Tables whose rows end up in a cached entry (directly or through a factory's facts).
MARKET_TABLES = frozenset({"factories", "resources", "windows", "parks", "market"})
_CHANGED = "sharefab.market_changed"  # Session.info flag between flush and commit

Fingerprint = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class FactoryFacts:
    """A factory's own columns (its resources and credit are attached per quote)."""

    id: str
    name: str
    park: str
    lat: float
    lon: float
    rating: float
    certifications: tuple[str, ...]
    position: int


@dataclass(frozen=True, slots=True)
class ProcessEntry:
    """The resources of one process code (factory id, resource position, resource), with the
    versions they were read at."""

    resources: tuple[tuple[str, int, m.Resource], ...]
    version: int
    fingerprint: Fingerprint
    loaded_at: float


def fingerprint(session: Session) -> Fingerprint:
    """Cheap evidence that rows were added or removed, or a calendar replaced, elsewhere."""
    factories = session.scalar(select(func.count()).select_from(Factory)) or 0
    resources = session.scalar(select(func.count()).select_from(Resource)) or 0
    newest_window = session.scalar(select(func.max(ResourceWindow.id))) or 0
    return int(factories), int(resources), int(newest_window)


def _read_resources(session: Session, process: str) -> tuple[tuple[str, int, m.Resource], ...]:
    """Every resource of ``process`` with its whole stored calendar (clipped per quote)."""
    windows: dict[str, list[m.Window]] = {}
    for rid, start, end in session.execute(
            select(ResourceWindow.resource_id, ResourceWindow.start, ResourceWindow.end)
            .join(Resource).where(Resource.process == process)
            .order_by(ResourceWindow.resource_id, ResourceWindow.start)):
        windows.setdefault(rid, []).append(m.Window(start, end))
    return tuple(
        (r.factory_id, r.position, m.Resource(
            id=r.id, process=r.process, capacity=r.capacity, materials=tuple(r.materials),
            speed=r.speed, setup_min=r.setup_min,
            pricing=m.Pricing(r.time_share_per_hour, r.per_piece, r.by_value_pct),
            windows=tuple(windows.get(r.id, ()))))
        for r in session.execute(
            select(Resource.id, Resource.factory_id, Resource.position, Resource.process,
                   Resource.capacity, Resource.materials, Resource.speed, Resource.setup_min,
                   Resource.time_share_per_hour, Resource.per_piece, Resource.by_value_pct)
            .where(Resource.process == process)
            .order_by(Resource.factory_id, Resource.position)))


def _read_factories(session: Session) -> dict[str, FactoryFacts]:
    return {f.id: FactoryFacts(f.id, f.name or f.id, f.park_id, f.lat, f.lon, f.rating,
                               tuple(f.certifications), f.position)
            for f in session.execute(
                select(Factory.id, Factory.name, Factory.park_id, Factory.lat, Factory.lon,
                       Factory.rating, Factory.certifications, Factory.position))}


class MarketCache:
    """Resources per process code and every factory's facts, as of ``version``.

    Thread-safe: quotes run in worker threads. A reload happens outside the lock (two threads
    may both read a stale entry; the later one wins), so a slow reload never blocks a quote of
    other processes.
    """

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self.version = 0
        self.reloads = 0  # entries read from the database (for tests and the benchmark)
        self._lock = threading.Lock()
        self._processes: dict[str, ProcessEntry] = {}
        self._factories: tuple[int, Fingerprint, float, dict[str, FactoryFacts]] | None = None

    # -- invalidation ----------------------------------------------------------------------
    def watch(self, session_factory: sessionmaker[Session]) -> None:
        """Bump ``version`` whenever a session of ``session_factory`` commits a market write."""
        event.listen(session_factory, "after_flush", _flag_flushed_market_rows)
        event.listen(session_factory, "do_orm_execute", _flag_bulk_market_write)
        event.listen(session_factory, "after_commit", self._after_commit)
        event.listen(session_factory, "after_rollback", _clear_flag)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_CHANGED, False):
            self.invalidate()

    def invalidate(self) -> None:
        """Forget every entry (the next quote reads the market again)."""
        with self._lock:
            self.version += 1
            self._processes.clear()
            self._factories = None

    # -- reads -----------------------------------------------------------------------------
    def _fresh(self, version: int, seen: Fingerprint, loaded_at: float, now: float,
               current: Fingerprint) -> bool:
        return (version == self.version and seen == current
                and now - loaded_at < self.max_age_s)

    def snapshot(self, session: Session, processes: list[str],
                 ) -> tuple[dict[str, FactoryFacts], dict[str, ProcessEntry]]:
        """Factory facts and the entries of ``processes``, reloading whatever is stale."""
        current = fingerprint(session)
        now = time.monotonic()
        with self._lock:
            version = self.version
            factories = self._factories
            entries = {p: self._processes.get(p) for p in processes}
        if factories is None or not self._fresh(factories[0], factories[1], factories[2], now,
                                                current):
            factories = (version, current, now, _read_factories(session))
            self.reloads += 1
        out: dict[str, ProcessEntry] = {}
        for p, entry in entries.items():
            if entry is None or not self._fresh(entry.version, entry.fingerprint,
                                                entry.loaded_at, now, current):
                entry = ProcessEntry(_read_resources(session, p), version, current, now)
                self.reloads += 1
            out[p] = entry
        with self._lock:
            if version == self.version:  # nothing committed meanwhile: keep what was read
                self._factories = factories
                self._processes.update(out)
        return factories[3], out


def _flag_flushed_market_rows(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in MARKET_TABLES:
            session.info[_CHANGED] = True
            return


def _flag_bulk_market_write(state: Any) -> None:
    """``session.execute(insert / update / delete(...))`` on a market table."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in MARKET_TABLES:
        state.session.info[_CHANGED] = True


def _clear_flag(session: Session) -> None:
    session.info.pop(_CHANGED, None)
