"""The market's slow-changing part, held in memory between quotes and dropped when it changes.

A quote needs every resource of its order's processes with its calendar: at 100,000 resources
that is some 40,000 resource rows and 250,000 windows, seconds of row decoding on each request
(bench/quote.py), although the market changes far less often than it is quoted. So each API
process keeps the whole market's rows, as domain objects, and reads them again when the market
it was read from is no longer the market in the database.

"No longer the market in the database" is one number: ``market_version``
(``services.core.market_version``), a one-row table every market write bumps in its own
transaction, whichever process makes it (a second API replica, a ``sharefab`` CLI import, a
worker, the benchmark's bulk load: the bump listens on every ``Session``). Each quote reads it
(one primary-key lookup) and prices from the copy only when the copy was read at that version.
What the bump cannot see is SQL that bypasses the ORM ``Session`` (a hand-typed ``UPDATE`` in
psql): ``max_age_s`` (``quote_market_cache_s``) remains the safety net that bounds how long a
copy is trusted at all.

With the copy goes its ``matching.market_index.MarketIndex`` (resources by process as arrays,
factories by id), built on the copy's first quote: per quote, the view and the candidate search
then cost what the order's candidates cost, not what the market holds.

Bookings change with every accepted quote: they are kept apart (``bookings``), under their own
counter (``market_version.bookings_current``, bumped by every booking write the same way), so
a booking drops the bookings' copy only. Live availability and credit are never cached: they
change with every heartbeat, and the view reads them fresh.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import model as m
from matching.market_index import MarketIndex
from services.bookings.models import ACTIVE_STATES, Booking
from services.core import market_version
from services.core.market_version import MARKET_TABLES
from services.factories.models import Factory
from services.resources.models import Resource, ResourceWindow

__all__ = ["MARKET_TABLES", "FactoryFacts", "MarketCache", "MarketCopy", "read_market"]


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
    position, resource), with the market version they were read at."""

    factories: dict[str, FactoryFacts]
    by_process: dict[str, tuple[tuple[str, int, m.Resource], ...]]
    version: int
    loaded_at: float
    # The market's index per calendar cut (None: no window starts before the quote's horizon,
    # one index serves every such quote), built on first use; at most two kept.
    indexes: dict[datetime | None, MarketIndex] = field(default_factory=dict)
    earliest: list[datetime] = field(default_factory=list)  # a memo: [] until computed
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def index_at(self, horizon: datetime) -> MarketIndex:
        """The index of the market with every calendar cut to ``horizon`` on.

        Calendars that reach before the horizon are cut per minute (the first quote of a minute
        then builds the index again); a market whose windows all lie ahead shares one index.
        """
        key = horizon if self.earliest_window() < horizon else None
        index = self.indexes.get(key)
        if index is None:  # built outside the lock: two quotes may both build it
            index = MarketIndex(self.whole(horizon if key is not None else None))
            with self.lock:
                while len(self.indexes) >= 2:
                    self.indexes.pop(next(iter(self.indexes)))
                self.indexes[key] = index
        return index

    def earliest_window(self) -> datetime:
        """The earliest window start of the market (computed once)."""
        if not self.earliest:
            found = [r.windows[0].start for rs in self.by_process.values()
                     for _, _, r in rs if r.windows]
            self.earliest.append(min(found) if found else datetime.max.replace(tzinfo=UTC))
        return self.earliest[0]

    def whole(self, horizon: datetime | None) -> tuple[m.Factory, ...]:
        """Every factory with all its resources in position order (``market_view``'s order),
        calendars cut to ``horizon`` when given; no credit."""
        placed: dict[str, list[tuple[int, m.Resource]]] = {}
        for rs in self.by_process.values():
            for factory_id, position, r in rs:
                placed.setdefault(factory_id, []).append(
                    (position, r if horizon is None else cut_calendar(r, horizon)))
        return tuple(
            m.Factory(id=f.id, name=f.name, park=f.park, lat=f.lat, lon=f.lon, rating=f.rating,
                      certifications=f.certifications,
                      resources=tuple(r for _, r in sorted(placed[f.id], key=lambda pr: pr[0])))
            for f in sorted((self.factories[fid] for fid in placed if fid in self.factories),
                            key=lambda f: (f.position, f.id)))


def cut_calendar(resource: m.Resource, horizon: datetime) -> m.Resource:
    """``resource`` with its calendar cut to ``horizon`` on (itself when nothing is earlier:
    the usual case, so a cached resource is shared, not copied)."""
    if not resource.windows or resource.windows[0].start >= horizon:
        return resource
    return dataclasses.replace(resource, windows=tuple(
        m.Window(max(w.start, horizon), w.end) for w in resource.windows if w.end > horizon))


@dataclass(frozen=True, slots=True)
class BookingsCopy:
    """The active bookings that ended after ``since``, sorted by (start, id), as of a
    bookings version."""

    bookings: tuple[m.Booking, ...]
    since: datetime
    version: int
    loaded_at: float


def read_bookings(session: Session, since: datetime) -> tuple[m.Booking, ...]:
    """Every active booking ending after ``since`` (no join: see ``market_view``)."""
    return tuple(sorted((
        m.Booking(id=b.id, resource=b.resource_id, start=b.start, end=b.end,
                  order=b.order_id, step=b.step_id, quantity=b.quantity)
        for b in session.execute(
            select(Booking.id, Booking.resource_id, Booking.start, Booking.end,
                   Booking.order_id, Booking.step_id, Booking.quantity)
            .where(Booking.status.in_(ACTIVE_STATES), Booking.end > since))),
        key=lambda b: (b.start, b.id)))


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
    """The whole market's factories and resources, as of the market version it was read at.

    Read whole on a miss (every process code at once: one cold quote, not one per new
    process), so memory grows with the market (some 100 MB at 100,000 resources). Thread-safe:
    quotes run in worker threads; a reload happens outside the lock (two threads may both read
    it; the newer version wins).
    """

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self.reloads = 0  # whole-market reads (for tests and the benchmark)
        self.booking_reloads = 0  # bookings reads
        self._lock = threading.Lock()
        self._copy: MarketCopy | None = None
        self._bookings: BookingsCopy | None = None

    def invalidate(self) -> None:
        """Forget the copies (the next quote reads the market and the bookings again)."""
        with self._lock:
            self._copy = None
            self._bookings = None

    def bookings(self, session: Session, since: datetime) -> tuple[m.Booking, ...]:
        """The active bookings ending after ``since`` or earlier (the caller drops those),
        read again when the database's bookings version moved on, or for an earlier
        ``since`` than the copy's."""
        version = market_version.bookings_current(session)  # before the rows, as above
        now = time.monotonic()
        with self._lock:
            copy = self._bookings
        if (copy is not None and copy.version == version and copy.since <= since
                and now - copy.loaded_at < self.max_age_s):
            return copy.bookings
        copy = BookingsCopy(read_bookings(session, since), since, version, now)
        with self._lock:
            self.booking_reloads += 1
            if self._bookings is None or self._bookings.version <= version:
                self._bookings = copy
        return copy.bookings

    def snapshot(self, session: Session) -> MarketCopy:
        """The market copy, read again when the database's market version moved on."""
        # The version is read before the rows: a write committed in between makes the copy
        # newer than its label (read again next time), never older.
        version = market_version.current(session)
        now = time.monotonic()
        with self._lock:
            copy = self._copy
        if copy is not None and copy.version == version and now - copy.loaded_at < self.max_age_s:
            return copy
        factories, by_process = read_market(session)
        copy = MarketCopy(factories, by_process, version, now)
        with self._lock:
            self.reloads += 1
            if self._copy is None or self._copy.version <= version:
                self._copy = copy
        return copy

