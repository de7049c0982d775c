"""Prometheus gauges and counters per park, factory and process, read from the database at
scrape time (issue 14).

Read at scrape, never counted in process memory: with ``sharefab serve --workers N`` each API
process answers the same totals, and nothing restarts from zero when a process does (the
"counters" here are row counts of tables that only grow, so Prometheus' ``rate()`` works).

Definitions (the park page uses the same ones):

- utilization over the last 24 h = booked hours / published available hours in that window,
  per (park, factory, process); booked = bookings ``booked``, ``running`` or ``done``,
  clipped to the window and to the machine's published windows' span (a booking outside
  published time still counts: it is what the machine was committed to). Both hour sums are
  exported too, so a dashboard sums before dividing (a mean of ratios would weigh a
  one-machine factory like a fifty-machine one).
- idle hours over the next 7 days = published available hours minus booked hours, >= 0.
- machines by status: the live status (Redis) of each resource; ``unknown`` without one.

Cardinality is bounded: label values come from the database (park ids, factory ids, process
codes), at most ``MAX_GROUPS`` (park, factory, process) groups are labelled by factory, and past
that every factory of a (park, process) beyond the bound shows as ``factory="_other"``. So a
family has at most MAX_GROUPS x 5 statuses series plus one ``_other`` per (park, process).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.bookings.models import Booking
from services.core.db import session_scope
from services.factories.models import Factory
from services.live.store import LiveStateStore
from services.orders.models import Order, OrderStep
from services.resources.models import Resource, ResourceWindow

log = logging.getLogger(__name__)

MAX_GROUPS = 5_000
OTHER = "_other"
PAST = timedelta(hours=24)
AHEAD = timedelta(days=7)
COMMITTED = ("booked", "running", "done")
STATUSES = ("idle", "running", "down", "offline", "unknown")
Group = tuple[str, str, str]  # (park, factory, process)


def overlap_h(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    """Hours of [start, end) inside [lo, hi)."""
    seconds = (min(end, hi) - max(start, lo)).total_seconds()
    return max(0.0, seconds) / 3600.0


@dataclass(frozen=True, slots=True)
class FleetReading:
    """One scrape's numbers, plain data (computed by ``read_fleet``)."""

    groups: dict[str, Group]  # resource id -> its labels
    available_past_h: dict[Group, float]
    booked_past_h: dict[Group, float]
    available_ahead_h: dict[Group, float]
    booked_ahead_h: dict[Group, float]
    lots: dict[tuple[str, str, str, str], int]  # (park, factory, process, status) -> lots
    orders: dict[tuple[str, str], int]  # (park, state) -> orders
    steps: dict[tuple[str, str, str], int]  # (park, process, order state) -> steps


def bound_groups(rows: list[tuple[str, str, str, str]], max_groups: int
                 ) -> dict[str, Group]:
    """resource id -> (park, factory, process), factories beyond ``max_groups`` as _other."""
    kept: set[Group] = set()
    out: dict[str, Group] = {}
    for rid, park, factory, process in sorted(rows, key=lambda r: (r[1], r[2], r[3], r[0])):
        group = (park, factory, process)
        if group not in kept and len(kept) >= max_groups:
            group = (park, OTHER, process)
        else:
            kept.add(group)
        out[rid] = group
    return out


def read_fleet(db: Session, now: datetime, max_groups: int = MAX_GROUPS) -> FleetReading:
    rows = [(r, p, f, pr) for r, p, f, pr in db.execute(
        select(Resource.id, Factory.park_id, Factory.id, Resource.process)
        .join(Factory, Resource.factory_id == Factory.id))]
    groups = bound_groups(rows, max_groups)
    lo, hi = now - PAST, now + AHEAD
    available_past: dict[Group, float] = defaultdict(float)
    available_ahead: dict[Group, float] = defaultdict(float)
    for rid, start, end in db.execute(
            select(ResourceWindow.resource_id, ResourceWindow.start, ResourceWindow.end)
            .where(ResourceWindow.end > lo, ResourceWindow.start < hi)):
        group = groups.get(rid)
        if group is not None:
            available_past[group] += overlap_h(start, end, lo, now)
            available_ahead[group] += overlap_h(start, end, now, hi)
    booked_past: dict[Group, float] = defaultdict(float)
    booked_ahead: dict[Group, float] = defaultdict(float)
    for rid, start, end in db.execute(
            select(Booking.resource_id, Booking.start, Booking.end)
            .where(Booking.end > lo, Booking.start < hi, Booking.status.in_(COMMITTED))):
        group = groups.get(rid)
        if group is not None:
            booked_past[group] += overlap_h(start, end, lo, now)
            booked_ahead[group] += overlap_h(start, end, now, hi)
    lots: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for rid, status in db.execute(select(Booking.resource_id, Booking.status)):
        group = groups.get(rid)
        if group is not None:
            lots[(*group, status)] += 1
    orders: dict[tuple[str, str], int] = defaultdict(int)
    state_of: dict[str, tuple[list[str], str]] = {}
    for oid, parks, state in db.execute(select(Order.id, Order.parks, Order.status)):
        names = list(parks or []) or ["any"]  # an order open to every park
        state_of[oid] = (names, state)
        for park in names:
            orders[(park, state)] += 1
    steps: dict[tuple[str, str, str], int] = defaultdict(int)
    for oid, process in db.execute(select(OrderStep.order_id, OrderStep.process)):
        names, state = state_of.get(oid, (["any"], "unknown"))
        for park in names:
            steps[(park, process, state)] += 1
    return FleetReading(groups, dict(available_past), dict(booked_past), dict(available_ahead),
                        dict(booked_ahead), dict(lots), dict(orders), dict(steps))


class FleetCollector(Collector):
    """The families of this module; a scrape that finds the database down serves the last
    reading (``sharefab_metrics_stale{source="fleet"}`` says so) rather than failing."""

    def __init__(self, live: LiveStateStore, session_factory: sessionmaker[Session],
                 clock: Callable[[], datetime], max_groups: int = MAX_GROUPS) -> None:
        self.live, self.session_factory, self.clock = live, session_factory, clock
        self.max_groups = max_groups
        self._last: FleetReading | None = None
        self._last_status: dict[str, str] = {}
        self._read_at = 0.0

    def _read(self) -> tuple[FleetReading | None, dict[str, str], bool]:
        stale = False
        try:
            with session_scope(self.session_factory) as db:
                self._last = read_fleet(db, self.clock(), self.max_groups)
            self._read_at = time.time()
        except Exception as exc:  # the database down: the last reading, marked stale
            log.warning("metrics: fleet reading failed (%s: %s)", type(exc).__name__, exc)
            stale = True
        if self._last is not None:
            try:
                live = self.live.get_many(list(self._last.groups))
                self._last_status = {rid: s.status for rid, s in live.items()}
            except Exception as exc:  # Redis down: the last statuses, marked stale
                log.warning("metrics: live statuses unavailable (%s: %s)",
                            type(exc).__name__, exc)
                stale = True
        return self._last, self._last_status, stale

    def collect(self) -> Iterator[Metric]:
        reading, status_of, stale = self._read()
        flag = GaugeMetricFamily("sharefab_fleet_metrics_stale",
                                 "1 when the database or Redis did not answer this scrape: "
                                 "the fleet families show the last reading")
        flag.add_metric([], int(stale))
        yield flag
        age = GaugeMetricFamily("sharefab_fleet_metrics_age_seconds",
                                "Age of the fleet reading served")
        age.add_metric([], round(time.time() - self._read_at, 3) if self._read_at
                       else float("inf"))
        yield age
        if reading is None:
            return
        yield from _families(reading, status_of)


def _families(reading: FleetReading, status_of: dict[str, str]) -> Iterator[Metric]:
    labels = ["park", "factory", "process"]
    machines = GaugeMetricFamily("sharefab_machines", "Machines by live status",
                                 labels=[*labels, "status"])
    counts: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for rid, group in reading.groups.items():
        status = status_of.get(rid, "unknown")
        counts[(*group, status if status in STATUSES else "unknown")] += 1
    for key in sorted(counts):
        machines.add_metric(list(key), counts[key])
    yield machines
    everyone = sorted(set(reading.groups.values()))
    yield _hours("sharefab_available_hours_24h",
                 "Published available machine-hours in the last 24 h", everyone,
                 reading.available_past_h)
    yield _hours("sharefab_booked_hours_24h",
                 "Booked or running machine-hours in the last 24 h", everyone,
                 reading.booked_past_h)
    utilization = GaugeMetricFamily(
        "sharefab_utilization_ratio",
        "Booked / published available machine-hours, last 24 h (no series without "
        "published time)", labels=labels)
    for group in everyone:
        available = reading.available_past_h.get(group, 0.0)
        if available > 0:
            utilization.add_metric(list(group),
                                   round(reading.booked_past_h.get(group, 0.0) / available, 6))
    yield utilization
    idle = GaugeMetricFamily("sharefab_idle_hours_7d",
                             "Published available minus booked machine-hours, next 7 days",
                             labels=labels)
    for group in everyone:
        free = reading.available_ahead_h.get(group, 0.0) - reading.booked_ahead_h.get(group, 0.0)
        idle.add_metric(list(group), round(max(0.0, free), 3))
    yield idle
    lots = CounterMetricFamily("sharefab_lots", "Lots ever booked (rows of bookings), by state",
                               labels=[*labels, "state"])
    for key in sorted(reading.lots):
        lots.add_metric(list(key), reading.lots[key])
    yield lots
    orders = GaugeMetricFamily("sharefab_orders_by_park",
                               "Orders by state, per park they are open to ('any': all)",
                               labels=["park", "state"])
    for park_state in sorted(reading.orders):
        orders.add_metric(list(park_state), reading.orders[park_state])
    yield orders
    steps = GaugeMetricFamily("sharefab_order_steps",
                              "Order steps by process and their order's state",
                              labels=["park", "process", "state"])
    for step_key in sorted(reading.steps):
        steps.add_metric(list(step_key), reading.steps[step_key])
    yield steps


def _hours(name: str, doc: str, groups: list[Group], values: dict[Group, float]
           ) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["park", "factory", "process"])
    for group in groups:
        family.add_metric(list(group), round(values.get(group, 0.0), 3))
    return family
