"""What a park operator watches: utilization by hour and day, the machine x hour heatmap, idle
capacity by process, machines down or offline, orders in flight and late, weekly trends.

Read functions over the database and the live store; every utilization figure comes from
``services.parks.utilization`` (the one definition). Nothing here reads a customer's price:
orders are shown by state, due date and progress only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.bookings.models import ACTIVE_STATES, Booking, BookingState
from services.factories.models import Factory
from services.live.store import LiveState, LiveStateStore
from services.orders.models import Order, OrderState
from services.parks.utilization import (
    DAY,
    HOUR,
    Span,
    Utilization,
    buckets,
    by_bucket,
    total,
    utilization,
)
from services.resources.models import Resource, ResourceWindow

DOWN_STATES = ("down", "offline")
IN_FLIGHT = (OrderState.ACCEPTED.value, OrderState.IN_PRODUCTION.value)


@dataclass(slots=True)
class Machine:
    """One resource of a park with its published windows and lots in the window read."""

    id: str
    park_id: str
    factory_id: str
    factory_name: str
    process: str
    capacity: int
    windows: list[Span] = field(default_factory=list)
    lots: list[Span] = field(default_factory=list)

    def utilization(self, start: datetime, end: datetime) -> Utilization:
        return utilization(windows=self.windows, lots=self.lots, capacity=self.capacity,
                           start=start, end=end)


def machines(db: Session, *, start: datetime, end: datetime,
             park_ids: Sequence[str] | None = None) -> list[Machine]:
    """The machines of ``park_ids`` (all parks: None) with windows and lots meeting
    ``[start, end)``."""
    query = (select(Resource.id, Factory.park_id, Factory.id, Factory.name, Resource.process,
                    Resource.capacity).join(Factory, Resource.factory_id == Factory.id)
             .order_by(Factory.park_id, Factory.position, Resource.position, Resource.id))
    if park_ids is not None:
        query = query.where(Factory.park_id.in_(list(park_ids)))
    out = {row[0]: Machine(*row) for row in db.execute(query)}
    if not out:
        return []
    ids = list(out)
    for rid, w_start, w_end in db.execute(
            select(ResourceWindow.resource_id, ResourceWindow.start, ResourceWindow.end)
            .where(ResourceWindow.resource_id.in_(ids), ResourceWindow.end > start,
                   ResourceWindow.start < end)):
        out[rid].windows.append(Span(w_start, w_end))
    for rid, b_start, b_end in db.execute(
            select(Booking.resource_id, Booking.start, Booking.end)
            .where(Booking.resource_id.in_(ids), Booking.status.in_(ACTIVE_STATES),
                   Booking.end > start, Booking.start < end)):
        out[rid].lots.append(Span(b_start, b_end))
    return list(out.values())


def _bucket_rows(ms: Sequence[Machine], spans: Sequence[Span]) -> list[dict[str, Any]]:
    rows = []
    for i, span in enumerate(spans):
        figure = total(by_bucket(windows=m.windows, lots=m.lots, capacity=m.capacity,
                                 spans=[span])[0] for m in ms)
        rows.append(_figure(figure, start=span.start, end=span.end, index=i))
    return rows


def _figure(f: Utilization, **extra: Any) -> dict[str, Any]:
    ratio = f.ratio
    return {**extra, "available_h": round(f.available_h, 3), "used_h": round(f.used_h, 3),
            "idle_h": round(f.idle_h, 3),
            "utilization": None if ratio is None else round(ratio, 4)}


def utilization_report(db: Session, *, park_id: str, start: datetime,
                       end: datetime) -> dict[str, Any]:
    """The park's utilization over ``[start, end)`` in all, by hour and by day."""
    ms = machines(db, start=start, end=end, park_ids=[park_id])
    overall = total(m.utilization(start, end) for m in ms)
    return {"park": park_id, "start": start, "end": end,
            **_figure(overall),
            "by_hour": _bucket_rows(ms, buckets(start, end, HOUR)),
            "by_day": _bucket_rows(ms, buckets(start, end, DAY))}


def heatmap(db: Session, *, park_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Machine x hour utilization: ``cells[i][j]`` is machine i in hour j (None: nothing
    published in that hour)."""
    ms = machines(db, start=start, end=end, park_ids=[park_id])
    hours = buckets(start, end, HOUR)
    cells = [[f.ratio if f.ratio is None else round(f.ratio, 4)
              for f in by_bucket(windows=m.windows, lots=m.lots, capacity=m.capacity,
                                 spans=hours)] for m in ms]
    return {"park": park_id, "start": start, "end": end,
            "hours": [h.start for h in hours],
            "machines": [{"id": m.id, "factory": m.factory_id, "factory_name": m.factory_name,
                          "process": m.process, "capacity": m.capacity} for m in ms],
            "cells": cells}


def idle_by_process(db: Session, *, park_id: str, start: datetime,
                    days: int) -> dict[str, Any]:
    """Published hours nobody has booked, per process and day, for ``days`` days."""
    end = start + days * DAY
    ms = machines(db, start=start, end=end, park_ids=[park_id])
    spans = buckets(start, end, DAY)
    by_process: dict[str, list[Machine]] = defaultdict(list)
    for m in ms:
        by_process[m.process].append(m)
    rows = []
    for process, group in sorted(by_process.items()):
        per_day = [total(m.utilization(s.start, s.end) for m in group) for s in spans]
        rows.append({"process": process, "machines": len(group),
                     "idle_h": [round(f.idle_h, 3) for f in per_day],
                     "available_h": [round(f.available_h, 3) for f in per_day],
                     "idle_h_total": round(sum(f.idle_h for f in per_day), 3)})
    return {"park": park_id, "start": start, "end": end, "days": [s.start for s in spans],
            "processes": rows}


def machine_rows(db: Session, *, park_id: str) -> list[tuple[str, str, str, str]]:
    """(resource, factory, factory name, process) of every machine of the park."""
    return [(r[0], r[1], r[2], r[3]) for r in db.execute(
        select(Resource.id, Factory.id, Factory.name, Resource.process)
        .join(Factory, Resource.factory_id == Factory.id).where(Factory.park_id == park_id)
        .order_by(Factory.position, Resource.position, Resource.id))]


def down_rows(rows: Iterable[tuple[str, str, str, str]], states: dict[str, LiveState],
              since: dict[str, datetime]) -> list[dict[str, Any]]:
    """Machines down or offline now, with since when (longest first)."""
    out = []
    for rid, factory, name, process in rows:
        state = states.get(rid)
        if state is None or state.status not in DOWN_STATES:
            continue
        out.append({"resource": rid, "factory": factory, "factory_name": name,
                    "process": process, "status": state.status,
                    "since": since.get(rid, state.last_seen), "last_seen": state.last_seen})
    return sorted(out, key=lambda r: (r["since"], r["resource"]))


def status_counts(rows: Iterable[tuple[str, str, str, str]],
                  states: dict[str, LiveState]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for rid, *_ in rows:
        state = states.get(rid)
        counts[state.status if state else "unknown"] += 1
    return dict(sorted(counts.items()))


def read_states(live: LiveStateStore, rows: Sequence[tuple[str, str, str, str]]
                ) -> dict[str, LiveState]:
    return live.get_many([r[0] for r in rows])


def orders(db: Session, *, park_id: str, now: datetime) -> dict[str, Any]:
    """Orders with lots in the park that are accepted or in production; late ones flagged.

    An order is late when its due date has passed, or when a lot in the park is planned to end
    after it. No prices, no customer: the park operator sees the work, not the deal.
    """
    lots = db.execute(
        select(Booking.order_id, Booking.end, Booking.quantity, Booking.done, Booking.status)
        .join(Resource, Booking.resource_id == Resource.id)
        .join(Factory, Resource.factory_id == Factory.id)
        .where(Factory.park_id == park_id, Booking.order_id.is_not(None),
               Booking.status != BookingState.CANCELLED.value)).all()
    by_order: dict[str, list[Any]] = defaultdict(list)
    for lot in lots:
        by_order[str(lot.order_id)].append(lot)
    if not by_order:
        return {"park": park_id, "now": now, "in_flight": 0, "late": 0, "orders": []}
    rows = []
    for order in db.scalars(select(Order).where(Order.id.in_(list(by_order)),
                                                Order.status.in_(IN_FLIGHT))
                            .order_by(Order.due, Order.id)):
        mine = by_order[order.id]
        finish = max(lot.end for lot in mine)
        late = order.due < now or finish > order.due
        rows.append({"order": order.id, "status": order.status, "due": order.due,
                     "planned_finish": finish, "lots": len(mine),
                     "quantity": sum(lot.quantity for lot in mine),
                     "done": sum(lot.done for lot in mine), "late": late})
    return {"park": park_id, "now": now, "in_flight": len(rows),
            "late": sum(1 for r in rows if r["late"]), "orders": rows}


def week_start(now: datetime) -> datetime:
    """Monday 00:00 of ``now``'s week (in ``now``'s time zone)."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def trends(db: Session, *, park_id: str, now: datetime, weeks: int) -> dict[str, Any]:
    """Utilization, idle hours and lots done per week for the last ``weeks`` weeks (the current
    week, up to now, last)."""
    end = now
    start = week_start(now) - (weeks - 1) * timedelta(days=7)
    ms = machines(db, start=start, end=end, park_ids=[park_id])
    spans = [Span(s.start, min(s.end, end)) for s in buckets(start, end, timedelta(days=7))]
    done = db.execute(
        select(Booking.end).join(Resource, Booking.resource_id == Resource.id)
        .join(Factory, Resource.factory_id == Factory.id)
        .where(Factory.park_id == park_id, Booking.status == BookingState.DONE.value,
               Booking.end >= start, Booking.end < end)).scalars().all()
    rows = []
    for i, span in enumerate(spans):
        figure = total(m.utilization(span.start, span.end) for m in ms)
        lots_done = sum(1 for t in done if span.start <= t < span.end)
        rows.append(_figure(figure, start=span.start, end=span.end, index=i,
                            lots_done=lots_done))
    return {"park": park_id, "start": start, "end": end, "weeks": rows}


def utilization_by_labels(db: Session, *, start: datetime, end: datetime,
                          park_ids: Sequence[str] | None = None
                          ) -> dict[tuple[str, str, str], Utilization]:
    """Utilization over ``[start, end)`` per (park, factory, process): for /metrics, whose
    labels these are (bounded: one series per process a factory has)."""
    out: dict[tuple[str, str, str], Utilization] = defaultdict(lambda: Utilization(0.0, 0.0))
    for m in machines(db, start=start, end=end, park_ids=park_ids):
        key = (m.park_id, m.factory_id, m.process)
        out[key] = out[key] + m.utilization(start, end)
    return dict(out)
