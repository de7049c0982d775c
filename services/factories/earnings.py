"""What a factory earns: per lot and per day, from the prices its own bookings carry.

A booking stores the price the SME accepted for its lot (``cost``, CNY, in the lot's pricing
mode). We count a lot as *booked* for that whole price, and as *earned* in proportion to its
good pieces: ``cost x done / quantity``. Scrap earns nothing. A cancelled lot (withdrawn by a
cancel or a re-plan) is neither booked nor earned: the platform pays for lots that are made.
Days are UTC dates of the lot's booked end, when its pieces are due.

Only the factory's own resources are read: the caller (``GET /factories/{id}/earnings``) has
already checked that the factory is the caller's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.schemas import UtcDatetime
from services.bookings.models import Booking, BookingState
from services.resources.models import Resource


@dataclass(frozen=True, slots=True)
class Lot:
    """The facts of one booking that its earnings depend on (plain data, no I/O)."""

    booking: str
    order: str | None
    step: str | None
    resource: str
    start: datetime
    end: datetime
    quantity: int
    done: int
    scrap: int
    status: str
    pricing: str | None
    cost_cny: float | None

    def booked_cny(self) -> float:
        """The whole price of the lot, 0 once it is cancelled or when it carries no price."""
        if self.status == BookingState.CANCELLED.value or self.cost_cny is None:
            return 0.0
        return self.cost_cny

    def earned_cny(self) -> float:
        """The share of the price the good pieces so far have earned (at most the price)."""
        if self.quantity <= 0:
            return 0.0
        return self.booked_cny() * min(self.done, self.quantity) / self.quantity


class LotEarningRead(BaseModel):
    booking: str
    order: str | None
    step: str | None
    resource: str
    start: UtcDatetime
    end: UtcDatetime
    quantity: int
    done: int
    scrap: int
    status: str
    pricing: str | None
    booked_cny: float = Field(description="the lot's accepted price (0 when cancelled)")
    earned_cny: float = Field(description="booked_cny x done / quantity")


class DayEarningRead(BaseModel):
    day: date = Field(description="UTC date of the lots' booked end")
    lots: int
    booked_cny: float
    earned_cny: float


class EarningsRead(BaseModel):
    """A factory's earnings in ``[since, until)`` (lots whose booked end falls in it)."""

    factory: str
    currency: str = "CNY"
    since: UtcDatetime
    until: UtcDatetime
    booked_cny: float = Field(description="sum of the lots' booked_cny")
    earned_cny: float = Field(description="sum of the lots' earned_cny")
    lots: list[LotEarningRead]
    days: list[DayEarningRead]


def _money(x: float) -> float:
    return round(x, 2)


def lot_read(lot: Lot) -> LotEarningRead:
    return LotEarningRead(
        booking=lot.booking, order=lot.order, step=lot.step, resource=lot.resource,
        start=lot.start, end=lot.end, quantity=lot.quantity, done=lot.done, scrap=lot.scrap,
        status=lot.status, pricing=lot.pricing, booked_cny=_money(lot.booked_cny()),
        earned_cny=_money(lot.earned_cny()))


def by_day(lots: Iterable[Lot]) -> list[DayEarningRead]:
    """Lots grouped by the UTC date of their booked end, oldest day first."""
    days: dict[date, list[Lot]] = defaultdict(list)
    for lot in lots:
        days[lot.end.date()].append(lot)
    return [DayEarningRead(day=day, lots=len(group),
                           booked_cny=_money(sum(x.booked_cny() for x in group)),
                           earned_cny=_money(sum(x.earned_cny() for x in group)))
            for day, group in sorted(days.items())]


def summarise(factory_id: str, lots: Sequence[Lot], *, since: datetime,
              until: datetime) -> EarningsRead:
    """The earnings document of ``lots`` (already limited to the factory and the period)."""
    return EarningsRead(
        factory=factory_id, since=since, until=until,
        booked_cny=_money(sum(x.booked_cny() for x in lots)),
        earned_cny=_money(sum(x.earned_cny() for x in lots)),
        lots=[lot_read(x) for x in lots], days=by_day(lots))


def lots_of(session: Session, *, factory_id: str, since: datetime,
            until: datetime) -> list[Lot]:
    """The factory's bookings whose booked end is in ``[since, until)``, by start."""
    rows = session.scalars(
        select(Booking).join(Resource, Resource.id == Booking.resource_id)
        .where(Resource.factory_id == factory_id, Booking.end >= since, Booking.end < until)
        .order_by(Booking.start, Booking.id)).all()
    return [Lot(booking=b.id, order=b.order_id, step=b.step_id, resource=b.resource_id,
                start=b.start, end=b.end, quantity=b.quantity, done=b.done, scrap=b.scrap,
                status=b.status, pricing=b.pricing, cost_cny=b.cost) for b in rows]


def get(session: Session, *, factory_id: str, since: datetime, until: datetime) -> EarningsRead:
    return summarise(factory_id, lots_of(session, factory_id=factory_id, since=since,
                                         until=until), since=since, until=until)
