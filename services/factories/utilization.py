"""How busy a factory's own machines are, on the platform's one definition of utilization
(``services.parks.utilization``, the park page's and /metrics' too).

For a period ``[since, until)`` and each resource: *available* is the hours of its published
windows inside the period times its capacity; *booked* (``used`` there) is the hours of its
booked, running and done lots inside those windows. Utilization is booked / available;
``None`` when nothing was published. Per resource, per UTC day and for the whole factory (the
ratio of the sums).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.schemas import UtcDatetime
from services.bookings.models import ACTIVE_STATES, Booking
from services.parks.utilization import DAY, Span, Utilization, buckets, total, utilization
from services.resources.models import Resource, ResourceWindow


class ResourceUtilizationRead(BaseModel):
    resource: str
    process: str
    capacity: int
    available_h: float = Field(description="published window hours in the period x capacity")
    booked_h: float = Field(description="hours of booked, running and done lots inside the "
                                        "published windows and the period")
    utilization: float | None = Field(description="booked_h / available_h; null: no windows")


class DayUtilizationRead(BaseModel):
    day: date
    available_h: float
    booked_h: float
    utilization: float | None


class UtilizationRead(BaseModel):
    factory: str
    since: UtcDatetime
    until: UtcDatetime
    definition: str = ("booked hours of booked, running and done lots inside the published "
                       "windows, over published window hours x capacity, in [since, until)")
    available_h: float
    booked_h: float
    utilization: float | None
    resources: list[ResourceUtilizationRead]
    days: list[DayUtilizationRead]


def _read(u: Utilization) -> tuple[float, float, float | None]:
    ratio = u.ratio
    return round(u.available_h, 2), round(u.used_h, 2), None if ratio is None else round(ratio, 4)


def get(session: Session, *, factory_id: str, since: datetime,
        until: datetime) -> UtilizationRead:
    resources = session.execute(
        select(Resource.id, Resource.process, Resource.capacity)
        .where(Resource.factory_id == factory_id).order_by(Resource.position, Resource.id)).all()
    ids = [r.id for r in resources]
    windows: dict[str, list[Span]] = defaultdict(list)
    lots: dict[str, list[Span]] = defaultdict(list)
    for rid, start, end in session.execute(
            select(ResourceWindow.resource_id, ResourceWindow.start, ResourceWindow.end)
            .where(ResourceWindow.resource_id.in_(ids), ResourceWindow.end > since,
                   ResourceWindow.start < until)):
        windows[rid].append(Span(start, end))
    for rid, start, end in session.execute(
            select(Booking.resource_id, Booking.start, Booking.end)
            .where(Booking.resource_id.in_(ids), Booking.status.in_(ACTIVE_STATES),
                   Booking.end > since, Booking.start < until)):
        lots[rid].append(Span(start, end))
    days = buckets(since, until, DAY)
    per_resource, per_day = [], [list[Utilization]() for _ in days]
    for r in resources:
        figure = utilization(windows=windows[r.id], lots=lots[r.id], capacity=r.capacity,
                             start=since, end=until)
        per_resource.append((r, figure))
        for i, day in enumerate(days):
            per_day[i].append(utilization(windows=windows[r.id], lots=lots[r.id],
                                          capacity=r.capacity, start=day.start, end=day.end))
    available_h, booked_h, ratio = _read(total(f for _, f in per_resource))
    rows = []
    for r, figure in per_resource:
        a, b, u = _read(figure)
        rows.append(ResourceUtilizationRead(resource=r.id, process=r.process,
                                            capacity=r.capacity, available_h=a, booked_h=b,
                                            utilization=u))
    day_rows = []
    for day, figures in zip(days, per_day, strict=True):
        a, b, u = _read(total(figures))
        day_rows.append(DayUtilizationRead(day=day.start.date(), available_h=a, booked_h=b,
                                           utilization=u))
    return UtilizationRead(factory=factory_id, since=since, until=until, available_h=available_h,
                           booked_h=booked_h, utilization=ratio, resources=rows, days=day_rows)
