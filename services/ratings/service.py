"""Ratings after completion: who may rate whom, once, and the credit read-out.

Only a ``done`` order is rated, only by its two sides: the customer rates each factory that
ran a lot of it; each such factory rates the customer. A second rating of the same pair is
refused (409): reviews are facts of record, not a vote one can repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import credit as c
from services.bookings.models import Booking, BookingState
from services.core.errors import ConflictError, InvalidError, NotFoundError
from services.events import service as events
from services.factories.models import Factory
from services.orders.models import Order, OrderState
from services.ratings.credit import evidence
from services.ratings.models import (
    CreditRead,
    CustomerRatesFactory,
    FactoryRatesCustomer,
    Rating,
    RatingRead,
)
from services.resources.models import Resource


def factories_of(session: Session, *, order_id: str) -> list[str]:
    """Factories that finished at least one lot of the order."""
    return sorted(set(session.scalars(
        select(Resource.factory_id).join(Booking, Booking.resource_id == Resource.id)
        .where(Booking.order_id == order_id, Booking.status == BookingState.DONE.value))))


def rate(session: Session, *, order_id: str, rating_in: CustomerRatesFactory | FactoryRatesCustomer,
         actor: str = "system", now: datetime | None = None) -> Rating:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFoundError("order", order_id)
    if OrderState(order.status) != OrderState.DONE:
        raise ConflictError(f"order {order_id} is {order.status}; ratings open once it is done")
    if rating_in.factory not in factories_of(session, order_id=order_id):
        raise InvalidError("factory", f"{rating_in.factory!r} did not work on order {order_id}")
    taken = session.scalar(select(Rating.id).where(
        Rating.order_id == order_id, Rating.side == rating_in.side,
        Rating.factory_id == rating_in.factory))
    if taken is not None:
        who = ("the customer has rated factory" if rating_in.side == "customer"
               else "factory has rated the customer of")
        raise ConflictError(f"order {order_id}: {who} {rating_in.factory} already")
    scores = rating_in.model_dump(exclude={"side", "factory", "comment"})
    row = Rating(order_id=order_id, side=rating_in.side, factory_id=rating_in.factory,
                 customer=order.customer, scores=scores, comment=rating_in.comment,
                 actor=actor)
    if now is not None:
        row.created_at = now
    session.add(row)
    session.flush()
    events.record(session, order_id=order_id, kind="rated", actor=actor, at=now,
                  details={"side": rating_in.side, "factory": rating_in.factory,
                           "scores": scores})
    return row


def get_all(session: Session, *, order_id: str | None = None,
            factory_id: str | None = None) -> Sequence[Rating]:
    query = select(Rating).order_by(Rating.id)
    if order_id is not None:
        query = query.where(Rating.order_id == order_id)
    if factory_id is not None:
        query = query.where(Rating.factory_id == factory_id)
    return session.scalars(query).all()


def credit_of(session: Session, *, factory_id: str) -> CreditRead:
    factory = session.get(Factory, factory_id)
    if factory is None:
        raise NotFoundError("factory", factory_id)
    e = evidence(session, [factory_id])[factory_id]
    score = c.credit(e)
    return CreditRead(
        factory=factory_id, score=score.score, on_time_share=score.on_time_share,
        scrap_rate=score.scrap_rate, rating=score.rating,
        evidence={"lots": e.lots, "on_time_lots": e.on_time_lots,
                  "late_min_total": e.late_min_total, "pieces": e.pieces, "scrap": e.scrap,
                  "reviews": e.reviews},
        priors={"on_time_share": c.ON_TIME_PRIOR, "on_time_prior_lots": c.ON_TIME_PRIOR_LOTS,
                "scrap_rate": c.SCRAP_PRIOR, "scrap_prior_pieces": c.SCRAP_PRIOR_PIECES,
                "rating": c.RATING_PRIOR, "rating_prior_reviews": c.RATING_PRIOR_REVIEWS},
        self_declared_rating=factory.rating)


def to_read(r: Rating) -> RatingRead:
    return RatingRead(id=r.id, order=r.order_id, side=r.side, factory=r.factory_id,
                      customer=r.customer, scores=r.scores, comment=r.comment, actor=r.actor,
                      created_at=r.created_at)
