"""How busy a factory's own machines are: booked time over published available time.

Definition (the same one the factory page prints under its table): for a period
``[since, until)`` and each resource, *available* is the hours of its published windows inside
the period times its capacity (a service line of capacity 3 offers three lots side by side);
*booked* is the hours of its booked, running and done lots inside the period. Utilization is
booked / available; ``None`` when nothing was published. We assume a lot holds its resource
for its whole booked interval, whatever its progress. Days are UTC dates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from domain.schemas import UtcDatetime
from services.bookings.models import ACTIVE_STATES, Booking
from services.resources.models import Resource

Interval = tuple[datetime, datetime]


class ResourceUtilizationRead(BaseModel):
    resource: str
    process: str
    capacity: int
    available_h: float = Field(description="published window hours in the period x capacity")
    booked_h: float = Field(description="hours of booked, running and done lots in the period")
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
    definition: str = ("booked hours of booked, running and done lots over published window "
                       "hours x capacity, inside [since, until)")
    available_h: float
    booked_h: float
    utilization: float | None
    resources: list[ResourceUtilizationRead]
    days: list[DayUtilizationRead]


def share(booked_h: float, available_h: float) -> float | None:
    return round(booked_h / available_h, 4) if available_h > 0 else None


def hours_by_day(intervals: Iterable[Interval], *, since: datetime, until: datetime,
                 weight: int = 1) -> dict[date, float]:
    """Hours of ``intervals`` inside ``[since, until)``, split at UTC midnights."""
    out: dict[date, float] = defaultdict(float)
    for start, end in intervals:
        start, end = max(start, since), min(end, until)
        while start < end:
            midnight = datetime.combine(start.date() + timedelta(days=1), datetime.min.time(),
                                        tzinfo=start.tzinfo)
            piece_end = min(end, midnight)
            out[start.date()] += weight * (piece_end - start).total_seconds() / 3600
            start = piece_end
    return out


def get(session: Session, *, factory_id: str, since: datetime,
        until: datetime) -> UtilizationRead:
    resources = session.scalars(
        select(Resource).options(selectinload(Resource.windows))
        .where(Resource.factory_id == factory_id).order_by(Resource.position, Resource.id)).all()
    lots: dict[str, list[Interval]] = defaultdict(list)
    for b in session.scalars(select(Booking).where(
            Booking.resource_id.in_([r.id for r in resources]), Booking.end > since,
            Booking.start < until, Booking.status.in_(ACTIVE_STATES))):
        lots[b.resource_id].append((b.start, b.end))
    day_available: dict[date, float] = defaultdict(float)
    day_booked: dict[date, float] = defaultdict(float)
    rows = []
    for r in resources:
        available = hours_by_day(((w.start, w.end) for w in r.windows), since=since,
                                 until=until, weight=r.capacity)
        booked = hours_by_day(lots[r.id], since=since, until=until)
        for day, h in available.items():
            day_available[day] += h
        for day, h in booked.items():
            day_booked[day] += h
        available_h, booked_h = sum(available.values()), sum(booked.values())
        rows.append(ResourceUtilizationRead(
            resource=r.id, process=r.process, capacity=r.capacity,
            available_h=round(available_h, 2), booked_h=round(booked_h, 2),
            utilization=share(booked_h, available_h)))
    days = [DayUtilizationRead(day=d, available_h=round(day_available[d], 2),
                               booked_h=round(day_booked[d], 2),
                               utilization=share(day_booked[d], day_available[d]))
            for d in sorted(set(day_available) | set(day_booked))]
    total_available = sum(day_available.values())
    total_booked = sum(day_booked.values())
    return UtilizationRead(factory=factory_id, since=since, until=until,
                           available_h=round(total_available, 2),
                           booked_h=round(total_booked, 2),
                           utilization=share(total_booked, total_available),
                           resources=rows, days=days)
