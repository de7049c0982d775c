"""Repair an accepted order whose plan broke, inside the caller's transaction.

One flow for every cause: a machine reported ``down`` (ingest worker), a gateway calendar that
strands a booking (ingest worker), a declined work order or scrap that leaves a step short
(API or ingest). ``scheduling.repair`` decides what stays and what is released; the matcher
re-plans the missing quantity against the live market (other customers' bookings are facts in
the snapshot, never touched); ``scheduling.booking.book`` commits the new lots with the same
rules as an acceptance. The customer sees event ``repaired`` with the new finish and why, and
``delayed`` with the minutes when the due date is lost.

Locks are taken in the order every writer uses: order row, resource rows by id, then bookings.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import model as m
from domain.schemas import format_utc
from matching import engine as matching_engine
from scheduling.booking import Lot, book
from scheduling.repair import Breakage, LotState, PlannedLot, RepairDecision, repair
from services.bookings import ledger
from services.bookings.models import Booking, BookingRead, BookingState
from services.bookings.service import read_all
from services.events import service as events
from services.orders import service as order_service
from services.orders.models import Order, OrderState
from services.resources.models import Resource
from services.scenario.market_view import market_for_order

# Orders whose plan is live on the shop floor: the only ones a breakdown can hurt.
REPAIRABLE = (OrderState.BOOKED.value, OrderState.IN_PROGRESS.value)
QuoteFn = Callable[[m.Scenario, str], list[matching_engine.Quote]]


@dataclass(slots=True)
class RepairResult:
    order_id: str
    cause: str
    released: list[str] = field(default_factory=list)
    booked: list[BookingRead] = field(default_factory=list)
    planned: bool = True
    reason: str | None = None
    finish: datetime | None = None
    late_by_min: int = 0


def default_quote(scenario: m.Scenario, order_id: str) -> list[matching_engine.Quote]:
    return matching_engine.quote(scenario, order_id,
                                 options=matching_engine.SolveOptions(time_limit_s=2.0))


def orders_on(session: Session, *, resource_ids: Iterable[str] = (),
              booking_ids: Iterable[str] = ()) -> list[str]:
    """Orders with open bookings on ``resource_ids`` or among ``booking_ids``, sorted."""
    rids, bids = list(resource_ids), list(booking_ids)
    query = select(Booking.order_id).where(Booking.status.in_(ledger.OPEN_STATES),
                                           Booking.order_id.is_not(None))
    if rids and bids:
        query = query.where(Booking.resource_id.in_(rids) | Booking.id.in_(bids))
    elif rids:
        query = query.where(Booking.resource_id.in_(rids))
    elif bids:
        query = query.where(Booking.id.in_(bids))
    else:
        return []
    return sorted({o for o in session.scalars(query.distinct()) if o is not None})


def repair_order(session: Session, *, order_id: str, cause: str, now: datetime,
                 broken: Breakage, unavailable: set[str] | frozenset[str] = frozenset(),
                 actor: str = "system", quote_fn: QuoteFn = default_quote) -> RepairResult:
    """Repair ``order_id`` after ``broken``; a no-op result when nothing of it is affected."""
    result = RepairResult(order_id=order_id, cause=cause)
    order = session.get(Order, order_id, with_for_update=True)
    if order is None or order.status not in REPAIRABLE:
        return result
    rows = list(session.scalars(select(Booking).where(
        Booking.order_id == order_id, Booking.status != BookingState.CANCELLED.value)
        .order_by(Booking.start, Booking.id)))
    steps = {s.id: tuple(s.after) for s in order.steps}
    decision = repair([_planned(b) for b in rows], steps=steps, quantity=order.quantity,
                      broken=broken)
    if not decision.needed:
        return result
    by_id = {b.id: b for b in rows}
    for bid in decision.release:
        by_id[bid].status = BookingState.CANCELLED.value
    session.flush()
    result.released = list(decision.release)
    kept = [by_id[k] for k in decision.keep]
    blocked = set(unavailable) | set(broken.resources)
    if decision.remake:
        _replan(session, result, order=order, decision=decision, kept=kept, now=now,
                blocked=blocked, quote_fn=quote_fn)
    _emit(session, result, order=order, decision=decision, kept=kept, actor=actor)
    return result


def _planned(b: Booking) -> PlannedLot:
    s, e = ledger.lot_interval(b.start, b.end)
    return PlannedLot(id=b.id, step=b.step_id or "", resource=b.resource_id, start=s, end=e,
                      quantity=b.quantity, state=LotState(b.status), done=b.done,
                      scrap=b.scrap)


def _replan(session: Session, result: RepairResult, *, order: Order,
            decision: RepairDecision, kept: Sequence[Booking], now: datetime,
            blocked: set[str], quote_fn: QuoteFn) -> None:
    """Plan the remade quantity on the live market and book it, or say why not."""
    ready = now
    if decision.ready_at is not None:
        # Whole minutes, rounded up: the snapshot starts on a minute boundary.
        ready = max(now, datetime.fromtimestamp(60 * math.ceil(decision.ready_at / 60),
                                                tz=now.tzinfo))
    scenario = market_for_order(session, order=order, unavailable=blocked, now=ready)
    kept_factories = _factories_of(session, [b.resource_id for b in kept])
    sub, factories = _sub_order(order, decision, kept_factories, scenario.factories)
    scenario = replace(scenario, orders=(sub,), factories=factories)
    plans = [q.plan for q in quote_fn(scenario, sub.id)]
    feasible = [p for p in plans if p.status is m.OrderStatus.PLANNED]
    if not feasible:
        result.planned = False
        result.reason = next((p.reason for p in plans if p.reason), "no capable free resource")
        return
    plan = min(feasible, key=lambda p: (p.lateness_min, p.total_cost))
    resources = {r.id: r for r in session.scalars(
        select(Resource).where(Resource.id.in_(sorted({a.resource for a in plan.allocations})))
        .order_by(Resource.id).with_for_update())}
    lots = [Lot(str(i), a.resource, *ledger.lot_interval(a.start, a.end))
            for i, a in enumerate(plan.allocations)]
    conflicts = book(ledger.calendars(session, resources.values(), unavailable=blocked), lots)
    if conflicts:  # the market moved since the snapshot: say so, the next trigger retries
        result.planned = False
        result.reason = f"re-planned lot clashes on {conflicts[0].resource} ({conflicts[0].kind})"
        return
    new = [Booking(id=f"B-{uuid.uuid4().hex[:12]}", resource_id=a.resource, order_id=order.id,
                   step_id=a.step, quote_id=None, quantity=a.quantity, start=a.start,
                   end=a.end, pricing=a.pricing.value, cost=a.cost,
                   status=BookingState.BOOKED.value,
                   exclusive=resources[a.resource].capacity == 1, source="repair")
           for a in plan.allocations]
    session.add_all(new)
    session.flush()
    result.booked = read_all(session, new)


def _factories_of(session: Session, resource_ids: Sequence[str]) -> set[str]:
    if not resource_ids:
        return set()
    return set(session.scalars(select(Resource.factory_id)
                               .where(Resource.id.in_(resource_ids))))


def _sub_order(order: Order, decision: RepairDecision, kept_factories: set[str],
               factories: tuple[m.Factory, ...]) -> tuple[m.Order, tuple[m.Factory, ...]]:
    """The order restricted to the remade steps, and the factories it may still use.

    We assume every remade step needs the largest missing quantity: a step missing fewer
    pieces makes a few spare ones rather than the plan splitting quantities per step.
    ``max_factories`` counts the factories the kept lots already use.
    """
    full = order_service.to_domain(order)
    remade = set(decision.remake)
    steps = tuple(replace(s, after=tuple(a for a in s.after if a in remade))
                  for s in full.steps if s.id in remade)
    room = order.max_factories - len(kept_factories)
    if room <= 0:  # no new factory allowed: only those already working on the order
        factories = tuple(f for f in factories if f.id in kept_factories)
        room = max(1, len(kept_factories))
    sub = replace(full, quantity=max(decision.remake.values()), steps=steps,
                  max_factories=max(1, room), min_lot=min(full.min_lot,
                                                          max(decision.remake.values())))
    return sub, factories


def _emit(session: Session, result: RepairResult, *, order: Order, decision: RepairDecision,
          kept: Sequence[Booking], actor: str) -> None:
    ends = [b.end for b in kept] + [b.end for b in result.booked]
    result.finish = max(ends) if ends else None
    if result.finish is not None and result.planned:
        late = (result.finish - order.due) / timedelta(minutes=1)
        result.late_by_min = max(0, math.ceil(late))
    details: dict[str, object] = {
        "cause": result.cause,
        "released": [{"booking": b, "why": decision.why[b]} for b in decision.release],
        "remade": dict(decision.remake),
        "booked": [{"booking": b.id, "resource": b.resource, "step": b.step,
                    "quantity": b.quantity, "start": format_utc(b.start),
                    "end": format_utc(b.end)} for b in result.booked],
        "planned": result.planned,
        "finish": format_utc(result.finish) if result.finish and result.planned else None,
        "due": format_utc(order.due),
        "late_by_min": result.late_by_min,
    }
    if result.reason:
        details["reason"] = result.reason
    events.record(session, order_id=order.id, kind="repaired", actor=actor, details=details)
    for b in result.booked:
        events.record(session, order_id=order.id, kind="work_order_sent", actor=actor,
                      details={"booking": b.id, "resource": b.resource, "step": b.step,
                               "quantity": b.quantity, "start": format_utc(b.start),
                               "end": format_utc(b.end)})
    if not result.planned or result.late_by_min > 0:
        events.record(session, order_id=order.id, kind="delayed", actor=actor,
                      details={"late_by_min": result.late_by_min, "planned": result.planned,
                               "reason": result.reason or "repaired plan finishes late"})
