"""The market as a scenario (docs/formats.md): bulk import and export (one quote's: market_view.py).

Import merges by id (upsert): factories, resources and orders named in the document replace
their stored versions (a resource's calendar with them); everything not named stays. With
``replace=True`` the stored market (bookings, quotes, orders, factories, parks) is cleared first,
so the database then holds exactly the document. Either way it is one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain import model as m
from domain.schemas import ScenarioIn
from services.bookings import service as booking_service
from services.bookings.models import ACTIVE_STATES, Booking
from services.factories import service as factory_service
from services.factories.models import Factory
from services.orders import service as order_service
from services.orders.models import Order
from services.parks.models import Park
from services.quotes.models import Quote
from services.scenario.market_view import market_facts
from services.scenario.models import MarketFacts


def import_scenario(session: Session, *, scenario: ScenarioIn, replace: bool = False) -> None:
    """Store ``scenario``; raises ConflictError (nothing written) when it clashes."""
    if replace:
        _clear(session)
    _store_market(session, scenario)
    base = factory_service.next_position(session)
    for i, f in enumerate(scenario.factories):
        existing = session.get(Factory, f.id)
        position = existing.position if existing is not None else base + i
        # A scenario document names its parks only through its factories: import creates them.
        factory_service.upsert(session, factory_in=f, position=position, source="scenario",
                               create_parks=True)
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
    for table in (Booking, Quote, Order, Factory, Park, MarketFacts):
        session.execute(delete(table))
    session.flush()


def _store_market(session: Session, scenario: ScenarioIn) -> None:
    market = session.get(MarketFacts, 1) or MarketFacts(id=1)
    market.horizon_start = scenario.horizon_start
    market.transport = scenario.transport.model_dump()
    market.objective = scenario.objective.model_dump()
    session.add(market)
    session.flush()


def export_scenario(session: Session, *, now: datetime) -> m.Scenario:
    """Everything stored, as one scenario: factories, orders and the bookings holding time."""
    horizon_start, transport, objective = market_facts(session, now)
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


