"""Credit scores of factories from the stored record (lot outcomes, customers' ratings)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from domain import credit as c
from services.bookings.models import Booking
from services.ratings.models import LotRecord, Rating
from services.resources.models import Resource


def record_lot(session: Session, *, booking: Booking, finished_at: datetime) -> None:
    """Store (or update) the outcome of a finished booking: on time or late, scrap."""
    resource = session.get(Resource, booking.resource_id)
    if resource is None:  # pragma: no cover - bookings restrict resource deletion
        return
    late_min = max(0, int((finished_at - booking.end).total_seconds() // 60))
    row = session.get(LotRecord, booking.id) or LotRecord(booking_id=booking.id)
    row.factory_id, row.resource_id, row.order_id = (resource.factory_id, resource.id,
                                                     booking.order_id)
    row.quantity, row.done, row.scrap = booking.quantity, booking.done, booking.scrap
    row.booked_end, row.finished_at, row.late_min = booking.end, finished_at, late_min
    session.add(row)
    session.flush()


def evidence(session: Session, factory_ids: Iterable[str]) -> dict[str, c.Evidence]:
    """The record of each factory (an empty one when the platform has seen nothing)."""
    ids = list(factory_ids)
    lots = {r.factory_id: r for r in session.execute(
        select(LotRecord.factory_id, func.count().label("lots"),
               func.sum(case((LotRecord.late_min == 0, 1), else_=0)).label("on_time"),
               func.sum(LotRecord.late_min).label("late_min"),
               func.sum(LotRecord.done + LotRecord.scrap).label("pieces"),
               func.sum(LotRecord.scrap).label("scrap"))
        .where(LotRecord.factory_id.in_(ids)).group_by(LotRecord.factory_id))}
    reviews: dict[str, tuple[int, float]] = {}
    for factory_id, scores in session.execute(
            select(Rating.factory_id, Rating.scores)
            .where(Rating.factory_id.in_(ids), Rating.side == "customer")):
        n, points = reviews.get(factory_id, (0, 0.0))
        reviews[factory_id] = (n + 1, points + sum(scores.values()) / max(1, len(scores)))
    out = {}
    for fid in ids:
        lot = lots.get(fid)
        n, points = reviews.get(fid, (0, 0.0))
        out[fid] = c.Evidence(
            lots=int(lot.lots) if lot else 0, on_time_lots=int(lot.on_time or 0) if lot else 0,
            late_min_total=int(lot.late_min or 0) if lot else 0,
            pieces=int(lot.pieces or 0) if lot else 0, scrap=int(lot.scrap or 0) if lot else 0,
            reviews=n, review_points=points)
    return out


def scores(session: Session, factory_ids: Iterable[str]) -> dict[str, float]:
    """Credit score per factory (0..1), for the matcher's snapshot."""
    return {fid: c.credit(e).score for fid, e in evidence(session, factory_ids).items()}
