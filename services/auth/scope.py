"""Tenancy: which rows a permitted caller may see. Lists get a SQL condition, single objects a
yes/no; a ``False`` is answered 404 by the view, exactly like an id that names nothing.

- sme: the orders it posted, their quotes and bookings;
- factory: its own factories, their resources, the bookings on those resources;
- park: the parks it operates, their factories and resources;
- platform: everything (``None``: no condition).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from services.auth.principal import Principal
from services.bookings.models import Booking
from services.factories.models import Factory
from services.orders.models import Order
from services.parks.models import Park
from services.resources.models import Resource


def _operated_parks(p: Principal) -> ColumnElement[bool]:
    return Factory.park_id.in_(select(Park.id).where(Park.operator_org_id == p.org_id))


def parks(p: Principal) -> ColumnElement[bool] | None:
    if p.is_platform:
        return None
    if p.org_kind == "park":
        return Park.operator_org_id == p.org_id
    return false()


def factories(p: Principal) -> ColumnElement[bool] | None:
    """Condition on ``Factory`` (resource lists join it)."""
    if p.is_platform:
        return None
    if p.org_kind == "factory":
        return Factory.org_id == p.org_id
    if p.org_kind == "park":
        return _operated_parks(p)
    return false()


def orders(p: Principal) -> ColumnElement[bool] | None:
    if p.is_platform:
        return None
    if p.org_kind == "sme":
        return Order.org_id == p.org_id
    return false()


def bookings(p: Principal) -> ColumnElement[bool] | None:
    if p.is_platform:
        return None
    if p.org_kind == "sme":
        return Booking.order_id.in_(select(Order.id).where(Order.org_id == p.org_id))
    if p.org_kind == "factory":
        return Booking.resource_id.in_(
            select(Resource.id).join(Factory).where(Factory.org_id == p.org_id))
    return false()


def sees_park(session: Session, p: Principal, park: Park) -> bool:
    return p.is_platform or (p.org_kind == "park" and park.operator_org_id == p.org_id)


def sees_factory(session: Session, p: Principal, factory: Factory) -> bool:
    if p.is_platform:
        return True
    if p.org_kind == "factory":
        return factory.org_id == p.org_id
    if p.org_kind == "park":
        park = session.get(Park, factory.park_id)
        return park is not None and park.operator_org_id == p.org_id
    return False


def owns_factory(p: Principal, factory: Factory) -> bool:
    """May change it: the platform, or the factory organisation it belongs to."""
    return p.is_platform or (p.org_kind == "factory" and factory.org_id == p.org_id)


def owns_order(p: Principal, order: Order) -> bool:
    return p.is_platform or (p.org_kind == "sme" and order.org_id == p.org_id)


def sees_booking(session: Session, p: Principal, booking: Booking) -> bool:
    if p.is_platform:
        return True
    if p.org_kind == "sme":
        order = session.get(Order, booking.order_id) if booking.order_id else None
        return order is not None and order.org_id == p.org_id
    if p.org_kind == "factory":
        resource = session.get(Resource, booking.resource_id)
        return resource is not None and resource.factory.org_id == p.org_id
    return False


def takes_part_in_order(session: Session, p: Principal, order: Order) -> bool:
    """The order's SME, or a factory organisation with a lot of the order on its resources."""
    if owns_order(p, order):
        return True
    if p.org_kind != "factory":
        return False
    return session.scalar(
        select(Booking.id).join(Resource, Booking.resource_id == Resource.id).join(Factory)
        .where(Booking.order_id == order.id, Factory.org_id == p.org_id).limit(1)) is not None


def tenant_of(p: Principal) -> str | None:
    """Whose events and webhooks a caller sees: its organisation; None = all (the platform)."""
    return None if p.is_platform else p.org_id
