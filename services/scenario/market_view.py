"""The market one order is quoted against: read with plain column queries, no ORM objects.

A quote's database side must stay small next to the solve, so this takes only the resources
whose process one of the order's steps needs, with their windows (from the API process's
``MarketCache`` when it has one: reading them costs seconds at 100,000 resources), and reads the
bookings that still matter, live availability and credit fresh.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import model as m
from domain.credit import Evidence
from domain.credit import credit as credit_of
from domain.schemas import TransportIn
from services.bookings.models import ACTIVE_STATES, Booking
from services.orders import service as order_service
from services.orders.models import Order
from services.ratings.credit import scores as credit_scores
from services.ratings.models import LotRecord, Rating
from services.scenario.market_cache import MarketCache, read_market
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
                     now: datetime, cache: MarketCache | None = None) -> m.Scenario:
    """The market for ``order`` from ``now`` (floored to the minute) on.

    Resources of the order's processes, minus those the live store reports down or offline;
    windows and bookings that end before ``now`` are dropped, the others start at ``now`` at
    the earliest, so nothing is planned in the past. ``cache``: the API process's copy of the
    resources and calendars (``market_cache``); without one they are read now.
    """
    horizon = floor_minute(now)
    _, transport, objective = market_facts(session, now)
    processes = sorted({s.process for s in order.steps})
    if cache is not None:
        copy = cache.snapshot(session)
        facts, by_process = copy.factories, copy.by_process
    else:
        facts, by_process = read_market(session, processes)

    placed: dict[str, list[tuple[int, m.Resource]]] = defaultdict(list)
    for process in processes:
        for factory_id, position, r in by_process.get(process, ()):
            if r.id in unavailable:
                continue
            placed[factory_id].append((position, _from(r, horizon)))

    # The platform's credit of each factory, not its self-declared rating, prices reliability.
    credit = _credit(session, list(placed))
    factories = tuple(
        m.Factory(id=f.id, name=f.name, park=f.park, lat=f.lat, lon=f.lon, rating=f.rating,
                  certifications=f.certifications,
                  resources=tuple(r for _, r in sorted(placed[f.id], key=lambda pr: pr[0])),
                  credit=credit.get(f.id))
        for f in sorted((facts[fid] for fid in placed if fid in facts),
                        key=lambda f: (f.position, f.id)))

    offered = {r.id for f in factories for r in f.resources}
    # Every active booking still ahead, kept when on an offered resource: a join on the
    # resources' process made SQLite walk 40,000 resources per quote at 100,000 (seconds).
    bookings = tuple(sorted((
        m.Booking(id=b.id, resource=b.resource_id, start=max(b.start, horizon), end=b.end,
                  order=b.order_id, step=b.step_id, quantity=b.quantity)
        for b in session.execute(
            select(Booking.id, Booking.resource_id, Booking.start, Booking.end,
                   Booking.order_id, Booking.step_id, Booking.quantity)
            .where(Booking.status.in_(ACTIVE_STATES), Booking.end > horizon))
        if b.resource_id in offered), key=lambda b: (b.start, b.id)))
    return m.Scenario(horizon_start=horizon, transport=transport, objective=objective,
                      factories=factories, orders=(order_service.to_domain(order),),
                      bookings=bookings)


def _from(resource: m.Resource, horizon: datetime) -> m.Resource:
    """``resource`` with its calendar cut to ``horizon`` on (itself when nothing is earlier:
    the usual case, so a cached resource is shared, not copied)."""
    if not resource.windows or resource.windows[0].start >= horizon:
        return resource
    return dataclasses.replace(resource, windows=tuple(
        m.Window(max(w.start, horizon), w.end) for w in resource.windows if w.end > horizon))


def _credit(session: Session, factory_ids: list[str]) -> dict[str, float]:
    """Credit per factory: read for those with a record, the empty record's score for the rest.

    Most factories of a large market have no lots or reviews yet; asking for all of them by id
    cost more than the rest of the view at 100,000 resources.
    """
    recorded = set(session.scalars(select(LotRecord.factory_id).distinct()))
    recorded |= set(session.scalars(select(Rating.factory_id)
                                    .where(Rating.side == "customer").distinct()))
    with_record = [f for f in factory_ids if f in recorded]
    known = credit_scores(session, with_record) if with_record else {}
    blank = credit_of(Evidence()).score
    return {f: known.get(f, blank) for f in factory_ids}
