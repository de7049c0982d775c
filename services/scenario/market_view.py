"""The market one order is quoted against: read with plain column queries, no ORM objects.

A quote's database side must stay small next to the solve, so this takes only the resources
whose process one of the order's steps needs, with their windows (from the API process's
``MarketCache`` when it has one: reading them costs seconds at 100,000 resources), and reads the
bookings that still matter, live availability and credit fresh.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Container
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import model as m
from domain.credit import Evidence
from domain.credit import credit as credit_of
from domain.schemas import TransportIn
from matching.engine import cyclic_gc_paused
from services.bookings.models import ACTIVE_STATES, Booking
from services.orders import service as order_service
from services.orders.models import Order
from services.ratings.credit import scores as credit_scores
from services.ratings.models import LotRecord, Rating
from services.scenario.market_cache import MarketCache, cut_calendar, read_market
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
    resources, calendars and bookings (``market_cache``), and its market index: the view is
    then cut from the index (``MarketIndex.factories_for``) and carries it to the engine
    (``IndexedScenario``); without one everything is read now.
    """
    horizon = floor_minute(now)
    _, transport, objective = market_facts(session, now)
    processes = sorted({s.process for s in order.steps})
    orders = (order_service.to_domain(order),)
    if cache is None:
        return _read_now(session, processes, unavailable, horizon, m.Scenario(
            horizon_start=horizon, factories=(), orders=orders, transport=transport,
            objective=objective))
    index = cache.snapshot(session).index_at(horizon)
    known, blank = _recorded_credit(session, index.factory_at)
    with cyclic_gc_paused():
        factories = index.factories_for(processes, unavailable, known, blank)
    # The bookings of offered resources (of the order's processes, not down), in the copy's
    # (start, id) order; those begun before the horizon start at it, and are sorted in.
    wanted, down = set(processes), set(unavailable)
    process_of = index.process_of
    ahead, begun = [], []
    for bk in cache.bookings(session, horizon):
        if (bk.end > horizon and process_of.get(bk.resource) in wanted
                and bk.resource not in down):
            if bk.start >= horizon:
                ahead.append(bk)
            else:
                begun.append(dataclasses.replace(bk, start=horizon))
    bookings = (tuple(sorted(begun + ahead, key=lambda bk: (bk.start, bk.id))) if begun
                else tuple(ahead))
    return index.view(m.Scenario(horizon_start=horizon, factories=factories, orders=orders,
                                 transport=transport, objective=objective, bookings=bookings),
                      factories, unavailable)




def _read_now(session: Session, processes: list[str], unavailable: set[str],
              horizon: datetime, base: m.Scenario) -> m.Scenario:
    """``market_for_order`` without a cache: the order's resources and the bookings read now."""
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
    return dataclasses.replace(base, factories=factories, bookings=bookings)


_from = cut_calendar


def _credit(session: Session, factory_ids: list[str]) -> dict[str, float]:
    """Credit per factory: read for those with a record, the empty record's score for the rest."""
    known, blank = _recorded_credit(session, set(factory_ids))
    return {f: known.get(f, blank) for f in factory_ids}


def _recorded_credit(session: Session, among: Container[str]) -> tuple[dict[str, float], float]:
    """The credit of the factories ``among`` that have a record, and the empty record's score
    (every other factory's).

    Most factories of a large market have no lots or reviews yet; asking for all of them by id
    cost more than the rest of the view at 100,000 resources.
    """
    recorded = set(session.scalars(select(LotRecord.factory_id).distinct()))
    recorded |= set(session.scalars(select(Rating.factory_id)
                                    .where(Rating.side == "customer").distinct()))
    with_record = [f for f in recorded if f in among]
    known = credit_scores(session, with_record) if with_record else {}
    return known, credit_of(Evidence()).score
