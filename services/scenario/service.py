"""The market as a DESIGN 4.1 scenario: bulk import, export, and the snapshot a quote solves.

Import merges by id (upsert): factories, resources and orders named in the document replace
their stored versions (a resource's calendar with them); everything not named stays. With
``replace=True`` the stored market (bookings, quotes, orders, factories, parks) is cleared first,
so the database then holds exactly the document. Either way it is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain import model as m
from domain.schemas import ScenarioIn, TransportIn
from services.bookings import service as booking_service
from services.bookings.models import ACTIVE_STATES, Booking
from services.factories import service as factory_service
from services.factories.models import Factory
from services.orders import service as order_service
from services.orders.models import Order
from services.parks.models import Park
from services.quotes.models import Quote
from services.resources.models import Resource
from services.scenario.models import Market


def import_scenario(session: Session, *, scenario: ScenarioIn, replace: bool = False) -> None:
    """Store ``scenario``; raises ConflictError (nothing written) when it clashes."""
    if replace:
        _clear(session)
    _store_market(session, scenario)
    base = factory_service.next_position(session)
    for i, f in enumerate(scenario.factories):
        existing = session.get(Factory, f.id)
        position = existing.position if existing is not None else base + i
        factory_service.upsert(session, factory_in=f, position=position, source="scenario")
    base = order_service.next_position(session)
    for i, o in enumerate(scenario.orders):
        order = session.get(Order, o.id)
        if order is None:
            order_service.create(session, order_in=o, position=base + i)
        else:
            order_service.replace(session, order=order, order_in=o)
    for b in scenario.bookings:
        booking_service.add_existing(session, booking=b.to_domain(), source="scenario")


def _clear(session: Session) -> None:
    for table in (Booking, Quote, Order, Factory, Park, Market):
        session.execute(delete(table))
    session.flush()


def _store_market(session: Session, scenario: ScenarioIn) -> None:
    market = session.get(Market, 1) or Market(id=1)
    market.horizon_start = scenario.horizon_start
    market.transport = scenario.transport.model_dump()
    market.objective = scenario.objective.model_dump()
    session.add(market)
    session.flush()


def _market(session: Session, now: datetime) -> tuple[datetime, m.Transport, m.Objective]:
    market = session.get(Market, 1)
    if market is None:
        return _floor_minute(now), m.Transport(), m.Objective()
    transport = TransportIn.model_validate(market.transport).to_domain()
    objective = m.Objective(**market.objective)
    return market.horizon_start, transport, objective


def export_scenario(session: Session, *, now: datetime) -> m.Scenario:
    """Everything stored, as one scenario: factories, orders and the bookings holding time."""
    horizon_start, transport, objective = _market(session, now)
    factories = factory_service.get_all(session)
    orders = order_service.get_all(session)
    bookings = session.scalars(select(Booking).where(Booking.status.in_(ACTIVE_STATES))
                               .order_by(Booking.start, Booking.id)).all()
    return m.Scenario(
        horizon_start=horizon_start, transport=transport, objective=objective,
        factories=tuple(factory_service.to_domain(f) for f in factories),
        orders=tuple(order_service.to_domain(o) for o in orders),
        bookings=tuple(booking_service.to_domain(b) for b in bookings),
    )


def snapshot_for_order(session: Session, *, order: Order, unavailable: set[str],
                       now: datetime) -> m.Scenario:
    """The market one order is quoted against, from ``now`` on.

    Only resources whose process one of the order's steps needs are included, minus those the
    live store reports down or offline; windows and bookings are clipped to start at ``now``
    (floored to the minute) so nothing is planned in the past.
    """
    horizon = _floor_minute(now)
    _, transport, objective = _market(session, now)
    processes = {s.process for s in order.steps}
    chosen: dict[str, list[Resource]] = {}
    for resource in session.scalars(select(Resource).where(Resource.process.in_(processes))
                                     .order_by(Resource.factory_id, Resource.position)):
        if resource.id not in unavailable:
            chosen.setdefault(resource.factory_id, []).append(resource)
    factories = [_clip_factory(factory_service.to_domain(f, chosen[f.id]), horizon)
                 for f in session.scalars(select(Factory).where(Factory.id.in_(list(chosen)))
                                          .order_by(Factory.position, Factory.id))]
    return m.Scenario(
        horizon_start=horizon, transport=transport, objective=objective,
        factories=tuple(factories), orders=(order_service.to_domain(order),),
        bookings=tuple(_clip_bookings(booking_service.active_on(
            session, resource_ids=[r.id for rs in chosen.values() for r in rs], after=horizon),
            horizon)),
    )


def _clip_factory(factory: m.Factory, horizon: datetime) -> m.Factory:
    resources = []
    for r in factory.resources:
        windows = tuple(m.Window(max(w.start, horizon), w.end) for w in r.windows
                        if w.end > horizon)
        resources.append(m.Resource(
            id=r.id, process=r.process, capacity=r.capacity, materials=r.materials,
            speed=r.speed, setup_min=r.setup_min, pricing=r.pricing, windows=windows))
    return m.Factory(id=factory.id, name=factory.name, park=factory.park, lat=factory.lat,
                     lon=factory.lon, rating=factory.rating,
                     certifications=factory.certifications, resources=tuple(resources))


def _clip_bookings(bookings: Sequence[m.Booking], horizon: datetime) -> list[m.Booking]:
    return [m.Booking(id=b.id, resource=b.resource, start=max(b.start, horizon), end=b.end,
                      order=b.order, step=b.step, quantity=b.quantity) for b in bookings]


def _floor_minute(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return t - timedelta(seconds=t.second, microseconds=t.microsecond)
