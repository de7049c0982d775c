"""Order persistence and conversions; validation of the routing lives in ``OrderIn``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from domain import model as m
from domain.schemas import OrderIn, StepIn, format_utc
from services.core import db
from services.core.db import page
from services.core.errors import ConflictError, InvalidError, NotFoundError
from services.orders import lifecycle
from services.orders.models import Order, OrderRead, OrderState, OrderStep
from services.resources.models import Resource

# An order in these states may still be replaced or re-quoted: nothing is booked yet.
OPEN_STATES = tuple(s.value for s in lifecycle.OPEN_STATES)
# An order in these states may be deleted: nothing of it holds capacity (a cancelled order's
# bookings are cancelled and stay as records; its history stays in the audit trail).
DELETABLE_STATES = (*OPEN_STATES, OrderState.CANCELLED.value)


def get(session: Session, *, order_id: str) -> Order | None:
    return session.get(Order, order_id)


def get_all(session: Session, *, status: str | None = None, customer: str | None = None,
            limit: int | None = None, offset: int = 0,
            visible: ColumnElement[bool] | None = None) -> Sequence[Order]:
    """Orders in document order; ``visible`` is the caller's tenancy condition (auth.scope)."""
    query = select(Order).options(selectinload(Order.steps))
    if visible is not None:
        query = query.where(visible)
    if status is not None:
        query = query.where(Order.status == status)
    if customer is not None:
        query = query.where(Order.customer == customer)
    query = query.order_by(Order.position, Order.id)
    query = page(query, limit=limit, offset=offset)
    return session.scalars(query).all()


def next_position(session: Session) -> int:
    return db.next_position(session, Order.position)


def check_due(order_in: OrderIn, *, now: datetime) -> None:
    """Refuse a due date not after ``now``: it could only be quoted late by the whole gap."""
    if order_in.due <= now:
        raise InvalidError("body.due", f"must be in the future (now {format_utc(now)}), got "
                                       f"{format_utc(order_in.due)}")


def check_step_resources(session: Session, order_in: OrderIn) -> None:
    """Refuse step extensions (``minutes_per_piece_on``, ``only_on``: docs/formats.md) naming
    resources the market does not hold: a cycle time or restriction on a resource nobody has
    would be stored and silently never apply (``only_on`` of only unknown ids: never quoted)."""
    named = {rid for s in order_in.steps for rid in (*s.minutes_per_piece_on, *s.only_on)}
    if not named:
        return
    known = set(session.scalars(select(Resource.id).where(Resource.id.in_(sorted(named)))))
    for i, step in enumerate(order_in.steps):
        for key, ids in (("minutes_per_piece_on", list(step.minutes_per_piece_on)),
                         ("only_on", step.only_on)):
            unknown = sorted(set(ids) - known)
            if unknown:
                raise InvalidError(f"body.steps.{i}.{key}",
                                   f"names unknown resources: {', '.join(unknown)}")


def create(session: Session, *, order_in: OrderIn, position: int | None = None,
           org_id: str | None = None) -> Order:
    """Store a new order; ``org_id`` is the SME organisation posting it."""
    check_step_resources(session, order_in)
    if session.get(Order, order_in.id) is not None:
        raise ConflictError(f"order {order_in.id!r} already exists")
    order = Order(id=order_in.id, status=OrderState.NEW.value, org_id=org_id,
                  position=next_position(session) if position is None else position)
    _apply(order, order_in)
    session.add(order)
    session.flush()
    return order


def replace(session: Session, *, order: Order, order_in: OrderIn) -> Order:
    """Overwrite an order that nothing is booked on yet (scenario merge)."""
    check_step_resources(session, order_in)
    if order.status not in OPEN_STATES:
        raise ConflictError(f"order {order.id!r} is {order.status}; it cannot be replaced")
    order.steps.clear()
    session.flush()
    _apply(order, order_in)
    session.flush()
    return order


def set_status(session: Session, *, order_id: str, status: OrderState) -> None:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFoundError("order", order_id)
    order.status = status.value
    session.flush()


def delete(session: Session, *, order_id: str) -> None:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFoundError("order", order_id)
    if order.status not in DELETABLE_STATES:
        raise ConflictError(f"order {order_id!r} is {order.status}; cancel it first")
    session.delete(order)
    session.flush()


def _apply(order: Order, o: OrderIn) -> None:
    order.customer = o.customer
    order.material = o.material
    order.quantity = o.quantity
    order.due = o.due
    order.value = o.value
    order.pricing = o.pricing
    order.max_factories = o.max_factories
    order.min_lot = o.min_lot
    order.certifications = list(o.certifications)
    order.parks = list(o.parks)
    order.min_credit = o.min_credit
    order.steps = [
        OrderStep(id=s.id, position=i, process=s.process, minutes_per_piece=s.minutes_per_piece,
                  setup_min=s.setup_min, after=list(s.after),
                  minutes_per_piece_on=dict(s.minutes_per_piece_on), only_on=list(s.only_on))
        for i, s in enumerate(o.steps)
    ]


def to_wire(order: Order) -> OrderIn:
    return OrderIn(
        id=order.id, customer=order.customer, material=order.material,
        quantity=order.quantity, due=order.due, value=order.value,
        pricing=order.pricing,  # type: ignore[arg-type]  # stored from a validated PricingName
        max_factories=order.max_factories, min_lot=order.min_lot,
        steps=[StepIn(id=s.id, process=s.process, minutes_per_piece=s.minutes_per_piece,
                      setup_min=s.setup_min, after=list(s.after),
                      minutes_per_piece_on=dict(s.minutes_per_piece_on or {}),
                      only_on=list(s.only_on or [])) for s in order.steps],
        certifications=list(order.certifications), parks=list(order.parks),
        min_credit=order.min_credit,
    )


def to_read(order: Order) -> OrderRead:
    return OrderRead(**to_wire(order).model_dump(), status=OrderState(order.status),
                     created_at=order.created_at)


def to_domain(order: Order) -> m.Order:
    return to_wire(order).to_domain()
