"""The market's slow-changing part, held in memory between quotes and dropped when it changes.

A quote needs every resource of its order's processes with its calendar: at 100,000 resources
that is some 40,000 resource rows and 250,000 windows, seconds of row decoding on each request
(bench/quote.py), although the market changes far less often than it is quoted. So each API
process keeps the whole market's rows, as domain objects, and reads them again when the market
it was read from is no longer the market in the database:

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
class MarketCopy:
    """Every factory's facts and every resource by process code (factory id, resource
    position, resource), with the versions they were read at."""

    factories: dict[str, FactoryFacts]
    by_process: dict[str, tuple[tuple[str, int, m.Resource], ...]]
    version: int
    fingerprint: Fingerprint
    loaded_at: float


def fingerprint(session: Session) -> Fingerprint:
    """Cheap evidence that rows were added or removed, or a calendar replaced, elsewhere."""
    factories = session.scalar(select(func.count()).select_from(Factory)) or 0
    resources = session.scalar(select(func.count()).select_from(Resource)) or 0
    newest_window = session.scalar(select(func.max(ResourceWindow.id))) or 0
    return int(factories), int(resources), int(newest_window)


def read_market(session: Session, processes: list[str] | None = None,
                ) -> tuple[dict[str, FactoryFacts],
                           dict[str, tuple[tuple[str, int, m.Resource], ...]]]:
    """Factory facts and the resources (of ``processes``, or all) with their whole stored
    calendars (clipped to the quote's horizon by the view)."""
    by_process = (Resource.process.in_(processes) if processes is not None
                  else Resource.id.is_not(None))
    windows: dict[str, list[m.Window]] = {}
    for rid, start, end in session.execute(
            select(ResourceWindow.resource_id, ResourceWindow.start, ResourceWindow.end)
            .join(Resource).where(by_process)
            .order_by(ResourceWindow.resource_id, ResourceWindow.start)):
        windows.setdefault(rid, []).append(m.Window(start, end))
    resources: dict[str, list[tuple[str, int, m.Resource]]] = {}
    for r in session.execute(
            select(Resource.id, Resource.factory_id, Resource.position, Resource.process,
                   Resource.capacity, Resource.materials, Resource.speed, Resource.setup_min,
                   Resource.time_share_per_hour, Resource.per_piece, Resource.by_value_pct)
            .where(by_process).order_by(Resource.factory_id, Resource.position)):
        resources.setdefault(r.process, []).append((r.factory_id, r.position, m.Resource(
            id=r.id, process=r.process, capacity=r.capacity, materials=tuple(r.materials),
            speed=r.speed, setup_min=r.setup_min,
            pricing=m.Pricing(r.time_share_per_hour, r.per_piece, r.by_value_pct),
            windows=tuple(windows.pop(r.id, ())))))
    factories = {f.id: FactoryFacts(f.id, f.name or f.id, f.park_id, f.lat, f.lon, f.rating,
                                    tuple(f.certifications), f.position)
                 for f in session.execute(
                     select(Factory.id, Factory.name, Factory.park_id, Factory.lat,
                            Factory.lon, Factory.rating, Factory.certifications,
                            Factory.position))}
    return factories, {p: tuple(rs) for p, rs in resources.items()}


class MarketCache:
    """The whole market's factories and resources, as of ``version``.

    Read whole on a miss (every process code at once: one cold quote, not one per new
    process), so memory grows with the market (some 100 MB at 100,000 resources). Thread-safe:
    quotes run in worker threads; a reload happens outside the lock (two threads may both read
    it; the later one wins).
    """

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self.version = 0
        self.reloads = 0  # whole-market reads (for tests and the benchmark)
        self._lock = threading.Lock()
        self._copy: MarketCopy | None = None

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
        """Forget the copy (the next quote reads the market again)."""
        with self._lock:
            self.version += 1
            self._copy = None

    # -- reads -----------------------------------------------------------------------------
    def snapshot(self, session: Session) -> MarketCopy:
        """The market copy, read again when stale."""
        current = fingerprint(session)
        now = time.monotonic()
        with self._lock:
            version, copy = self.version, self._copy
        if (copy is not None and copy.version == version and copy.fingerprint == current
                and now - copy.loaded_at < self.max_age_s):
            return copy
        factories, by_process = read_market(session)
        copy = MarketCopy(factories, by_process, version, current, now)
        with self._lock:
            self.reloads += 1
            if version == self.version:  # nothing committed meanwhile: keep what was read
                self._copy = copy
        return copy


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
