"""The market one order is quoted against: read with plain column queries, no ORM objects.

A quote's database side must stay small next to the solve (a few hundred ms at 10,000
resources in the engine's own benchmark), so this reads only the resources whose process one of
the order's steps needs, their windows and bookings that still matter, as rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import model as m
from domain.schemas import TransportIn
from services.bookings.models import ACTIVE_STATES, Booking
from services.factories.models import Factory
from services.orders import service as order_service
from services.orders.models import Order
from services.ratings.credit import scores as credit_scores
from services.resources.models import Resource, ResourceWindow
from services.scenario.models import MarketFacts


def floor_minute(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return t - timedelta(seconds=t.second, microseconds=t.microsecond)


def market_facts(session: Session, now: datetime) -> tuple[datetime, m.Transport, m.Objective]:
    """Horizon start, transport and objective of the stored market (defaults when none)."""
    market = session.get(MarketFacts, 1)
    if market is None:
        return floor_minute(now), m.Transport(), m.Objective()
    transport = TransportIn.model_validate(market.transport).to_domain()
    return market.horizon_start, transport, m.Objective(**market.objective)


def market_for_order(session: Session, *, order: Order, unavailable: set[str],
                       now: datetime) -> m.Scenario:
    """The market for ``order`` from ``now`` (floored to the minute) on.

    Resources of the order's processes, minus those the live store reports down or offline;
    windows and bookings that end before ``now`` are dropped, the others start at ``now`` at
    the earliest, so nothing is planned in the past.
    """
    horizon = floor_minute(now)
    _, transport, objective = market_facts(session, now)
    processes = sorted({s.process for s in order.steps})
    by_process = Resource.process.in_(processes)

    windows: dict[str, list[m.Window]] = defaultdict(list)
    for rid, start, end in session.execute(
            select(ResourceWindow.resource_id, ResourceWindow.start, ResourceWindow.end)
            .join(Resource).where(by_process, ResourceWindow.end > horizon)
            .order_by(ResourceWindow.resource_id, ResourceWindow.start)):
        windows[rid].append(m.Window(max(start, horizon), end))

    resources: dict[str, list[m.Resource]] = defaultdict(list)
    for r in session.execute(
            select(Resource.id, Resource.factory_id, Resource.process, Resource.capacity,
                   Resource.materials, Resource.speed, Resource.setup_min,
                   Resource.time_share_per_hour, Resource.per_piece, Resource.by_value_pct)
            .where(by_process).order_by(Resource.factory_id, Resource.position)):
        if r.id in unavailable:
            continue
        resources[r.factory_id].append(m.Resource(
            id=r.id, process=r.process, capacity=r.capacity, materials=tuple(r.materials),
            speed=r.speed, setup_min=r.setup_min,
            pricing=m.Pricing(r.time_share_per_hour, r.per_piece, r.by_value_pct),
            windows=tuple(windows.get(r.id, ()))))

    # The platform's credit of each factory, not its self-declared rating, prices reliability.
    credit = credit_scores(session, list(resources))
    factories = tuple(
        m.Factory(id=f.id, name=f.name or f.id, park=f.park_id, lat=f.lat, lon=f.lon,
                  rating=f.rating, certifications=tuple(f.certifications),
                  resources=tuple(resources[f.id]), credit=credit.get(f.id))
        for f in session.execute(
            select(Factory.id, Factory.name, Factory.park_id, Factory.lat, Factory.lon,
                   Factory.rating, Factory.certifications)
            .where(Factory.id.in_(list(resources))).order_by(Factory.position, Factory.id)))

    offered = {r.id for rs in resources.values() for r in rs}
    bookings = tuple(
        m.Booking(id=b.id, resource=b.resource_id, start=max(b.start, horizon), end=b.end,
                  order=b.order_id, step=b.step_id, quantity=b.quantity)
        for b in session.execute(
            select(Booking.id, Booking.resource_id, Booking.start, Booking.end,
                   Booking.order_id, Booking.step_id, Booking.quantity)
            .join(Resource).where(by_process, Booking.status.in_(ACTIVE_STATES),
                                  Booking.end > horizon)
            .order_by(Booking.start))
        if b.resource_id in offered)
    return m.Scenario(horizon_start=horizon, transport=transport, objective=objective,
                      factories=factories, orders=(order_service.to_domain(order),),
                      bookings=bookings)
