"""Repair an accepted order whose plan broke, inside the caller's transaction.

One flow for every cause: a machine reported ``down`` (ingest worker), a gateway calendar that
strands a booking (ingest worker), a declined work order or scrap that leaves a step short
(API or ingest). ``scheduling.repair`` decides what stays and what is released; the matcher
re-plans the missing pieces against the live market, each step exactly what it is short of
(``remake_layers``), never before the kept input has been hauled to the factory (other
customers' bookings are facts in the snapshot, never touched); ``scheduling.booking.book``
commits the new lots with the same rules as an acceptance. The customer sees event
``repaired`` with the new finish and why, and ``delayed`` with the minutes when the due date
is lost.

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
from scheduling.arrival import arrival
from scheduling.booking import Lot, book
from scheduling.repair import (
    Breakage,
    LotState,
    PlannedLot,
    RemakeLayer,
    RepairDecision,
    remake_layers,
    repair,
)
from services.bookings import ledger
from services.bookings.models import Booking, BookingRead, BookingState
from services.bookings.service import read_all
from services.events import service as events
from services.events.models import OrderEvent
from services.factories.models import Factory as FactoryRow
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
    # Kept lots cut to fewer pieces (overrunning): their work orders go out again.
    cut: list[str] = field(default_factory=list)
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
                 actor: str = "system", quote_fn: QuoteFn = default_quote,
                 fallback_finish: datetime | None = None) -> RepairResult:
    """Repair ``order_id`` after ``broken``; a no-op result when nothing of it is affected.

    ``fallback_finish``: the plan as it stands still works, only late (an overrunning lot
    that keeps going). Then a re-plan that finds no room is undone rather than leaving pieces
    unmade, and the customer is told the order finishes no earlier than this.
    """
    result = RepairResult(order_id=order_id, cause=cause)
    order = session.get(Order, order_id, with_for_update=True)
    if order is None or order.status not in REPAIRABLE:
        return result
    rows = list(session.scalars(select(Booking).where(
        Booking.order_id == order_id, Booking.status != BookingState.CANCELLED.value)
        .order_by(Booking.start, Booking.id)))
    # Lots released earlier keep the pieces they made: those count, as finished lots.
    stopped = list(session.scalars(select(Booking).where(
        Booking.order_id == order_id, Booking.status == BookingState.CANCELLED.value,
        Booking.done > 0).order_by(Booking.start, Booking.id)))
    steps = {s.id: tuple(s.after) for s in order.steps}
    planned = [_planned(b) for b in rows] + [_made(b) for b in stopped]
    decision = repair(planned, steps=steps, quantity=order.quantity, broken=broken)
    if not decision.needed:
        return result
    by_id = {b.id: b for b in [*rows, *stopped]}
    was = {b.id: (b.status, b.quantity) for b in rows}
    for bid in decision.release:
        by_id[bid].status = BookingState.CANCELLED.value
    for bid, quantity in decision.cut.items():
        by_id[bid].quantity = quantity
    session.flush()
    result.released = list(decision.release)
    result.cut = list(decision.cut)
    kept = [by_id[k] for k in decision.keep]
    blocked = set(unavailable) | set(broken.resources)
    if decision.remake:
        _replan(session, result, order=order, decision=decision, lots=planned, kept=kept,
                now=now, blocked=blocked, quote_fn=quote_fn)
    if not result.planned and fallback_finish is not None:
        _undo(session, result, by_id=by_id, was=was)
        _emit_kept_late(session, result, order=order, finish=fallback_finish, actor=actor,
                        at=now)
        return result
    _emit(session, result, order=order, decision=decision, kept=kept, actor=actor, at=now)
    return result


def _undo(session: Session, result: RepairResult, *, by_id: dict[str, Booking],
          was: dict[str, tuple[str, int]]) -> None:
    """Put the order's lots back as they were; drop lots booked by earlier layers.

    The new lots go first (flushed), so a lot put back never meets one of them in the
    overlap constraint.
    """
    for row in result.booked:
        booking = session.get(Booking, row.id)
        if booking is not None:
            session.delete(booking)
    session.flush()
    for bid in [*result.released, *result.cut]:
        by_id[bid].status, by_id[bid].quantity = was[bid]
    session.flush()
    result.released, result.cut, result.booked = [], [], []


def _emit_kept_late(session: Session, result: RepairResult, *, order: Order,
                    finish: datetime, actor: str, at: datetime) -> None:
    """Nothing faster was found: the plan stays, and the customer learns how late it runs.

    ``at``: the repair's clock (the platform's, not the host's: services.core.clock)."""
    result.finish = max(finish, max((b.end for b in _open_lots(session, order.id)),
                                    default=finish))
    result.late_by_min = max(0, math.ceil((result.finish - order.due) / timedelta(minutes=1)))
    if _already_told(session, order.id, result):
        return
    events.record(session, order_id=order.id, kind="delayed", actor=actor, details={
        "cause": result.cause, "planned": False,
        "reason": f"{result.reason or 'no room elsewhere'}: the plan stays as it is and "
                  "finishes late",
        "finish": format_utc(result.finish), "due": format_utc(order.due),
        "late_by_min": result.late_by_min}, at=at)


def _open_lots(session: Session, order_id: str) -> list[Booking]:
    return list(session.scalars(select(Booking).where(
        Booking.order_id == order_id, Booking.status.in_(ledger.OPEN_STATES))))


def _already_told(session: Session, order_id: str, result: RepairResult) -> bool:
    """The last ``delayed`` event of the order said the same cause about as late (within a
    quarter of an hour): a slow lot reporting progress every minute is one message, not 60."""
    last = session.scalars(select(OrderEvent).where(
        OrderEvent.order_id == order_id, OrderEvent.kind == "delayed")
        .order_by(OrderEvent.id.desc()).limit(1)).first()
    if last is None or str(last.details.get("cause", "")).split(":")[0] != \
            result.cause.split(":")[0]:
        return False
    return abs(int(last.details.get("late_by_min", 0)) - result.late_by_min) < 15


def _made(b: Booking) -> PlannedLot:
    """A released lot's finished pieces, as a done lot of that many."""
    s, e = ledger.lot_interval(b.start, b.end)
    return PlannedLot(id=b.id, step=b.step_id or "", resource=b.resource_id, start=s, end=e,
                      quantity=b.done, state=LotState.DONE, done=b.done, scrap=0)


def _planned(b: Booking) -> PlannedLot:
    s, e = ledger.lot_interval(b.start, b.end)
    return PlannedLot(id=b.id, step=b.step_id or "", resource=b.resource_id, start=s, end=e,
                      quantity=b.quantity, state=LotState(b.status), done=b.done,
                      scrap=b.scrap)


def _replan(session: Session, result: RepairResult, *, order: Order,
            decision: RepairDecision, lots: Sequence[PlannedLot], kept: Sequence[Booking],
            now: datetime, blocked: set[str], quote_fn: QuoteFn) -> None:
    """Plan the remade pieces on the live market layer by layer and book them, or say why not.

    Each layer (``scheduling.repair.remake_layers``) is one sub-order of its own quantity:
    every step remakes exactly what it is short of. A layer fed by kept lots starts on each
    factory only once their output can have arrived there (finish plus haul).
    """
    steps = {s.id: tuple(s.after) for s in order.steps}
    by_id = {b.id: b for b in kept}
    factories_used = _factories_of(session, [b.resource_id for b in kept])
    for layer in remake_layers(decision, steps=steps, lots=lots):
        scenario = market_for_order(session, order=order, unavailable=blocked, now=now)
        feeds = [by_id[k] for k in layer.fed_by if k in by_id]
        sub, factories = _sub_order(order, layer, factories_used, scenario.factories)
        factories = _not_before(factories, _ready_by_factory(session, feeds, factories,
                                                             scenario.transport))
        scenario = replace(scenario, orders=(sub,), factories=factories)
        booked = _plan_and_book(session, result, order=order, scenario=scenario, sub=sub,
                                blocked=blocked, quote_fn=quote_fn)
        if booked is None:
            return
        result.booked += booked
        factories_used |= {b.factory for b in booked}


def _plan_and_book(session: Session, result: RepairResult, *, order: Order,
                   scenario: m.Scenario, sub: m.Order, blocked: set[str],
                   quote_fn: QuoteFn) -> list[BookingRead] | None:
    """One layer: the best feasible quote, committed with the acceptance's rules."""
    plans = [q.plan for q in quote_fn(scenario, sub.id)]
    feasible = [p for p in plans if p.status is m.OrderStatus.PLANNED]
    if not feasible:
        result.planned = False
        result.reason = next((p.reason for p in plans if p.reason), "no capable free resource")
        return None
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
        return None
    new = [Booking(id=f"B-{uuid.uuid4().hex[:12]}", resource_id=a.resource, order_id=order.id,
                   step_id=a.step, quote_id=None, quantity=a.quantity, start=a.start,
                   end=a.end, pricing=a.pricing.value, cost=a.cost,
                   status=BookingState.BOOKED.value,
                   exclusive=resources[a.resource].capacity == 1, source="repair")
           for a in plan.allocations]
    session.add_all(new)
    session.flush()
    return read_all(session, new)


def _ready_by_factory(session: Session, feeds: Sequence[Booking],
                      factories: Iterable[m.Factory],
                      transport: m.Transport) -> dict[str, datetime]:
    """Per candidate factory, when the output of the kept lots ``feeds`` can be there.

    We assume a kept lot finishes at its booked end and travels whole (the matcher's rule).
    """
    if not feeds:
        return {}
    sites: dict[str, str] = {row.id: row.factory_id for row in session.execute(
        select(Resource.id, Resource.factory_id).where(
            Resource.id.in_(sorted({b.resource_id for b in feeds}))))}
    origin = {fid: (lat, lon) for fid, lat, lon in session.execute(
        select(FactoryRow.id, FactoryRow.lat, FactoryRow.lon)
        .where(FactoryRow.id.in_(sorted(set(sites.values())))))}
    return {f.id: max(arrival(b.end, origin[sites[b.resource_id]], (f.lat, f.lon), transport)
                      for b in feeds)
            for f in factories}


def _not_before(factories: tuple[m.Factory, ...],
                ready: dict[str, datetime]) -> tuple[m.Factory, ...]:
    """Each factory's windows cut to start no earlier than its ``ready`` time.

    Cutting every resource of the factory is safe: a later step of the layer on it runs
    after an earlier step's lot plus the haul, which is never before the kept input arrives.
    """
    if not ready:
        return factories
    out = []
    for f in factories:
        at = ready.get(f.id)
        if at is None:
            out.append(f)
            continue
        resources = tuple(replace(r, windows=tuple(
            m.Window(max(w.start, at), w.end) for w in r.windows if w.end > at))
            for r in f.resources)
        out.append(replace(f, resources=resources))
    return tuple(out)


def _factories_of(session: Session, resource_ids: Sequence[str]) -> set[str]:
    if not resource_ids:
        return set()
    return set(session.scalars(select(Resource.factory_id)
                               .where(Resource.id.in_(resource_ids))))


def _sub_order(order: Order, layer: RemakeLayer, kept_factories: set[str],
               factories: tuple[m.Factory, ...]) -> tuple[m.Order, tuple[m.Factory, ...]]:
    """The order restricted to one layer of remade steps, and the factories it may use.

    ``max_factories`` counts the factories the kept (and earlier layers') lots already use.
    """
    full = order_service.to_domain(order)
    members = set(layer.steps)
    steps = tuple(replace(s, after=tuple(a for a in s.after if a in members))
                  for s in full.steps if s.id in members)
    room = order.max_factories - len(kept_factories)
    if room <= 0:  # no new factory allowed: only those already working on the order
        factories = tuple(f for f in factories if f.id in kept_factories)
        room = max(1, len(kept_factories))
    sub = replace(full, quantity=layer.quantity, steps=steps, max_factories=max(1, room),
                  min_lot=min(full.min_lot, layer.quantity))
    return sub, factories


def _emit(session: Session, result: RepairResult, *, order: Order, decision: RepairDecision,
          kept: Sequence[Booking], actor: str, at: datetime) -> None:
    ends = [b.end for b in kept if b.status != BookingState.CANCELLED.value] + [
        b.end for b in result.booked]
    result.finish = max(ends) if ends else None
    if result.finish is not None and result.planned:
        late = (result.finish - order.due) / timedelta(minutes=1)
        result.late_by_min = max(0, math.ceil(late))
    details: dict[str, object] = {
        "cause": result.cause,
        "released": [{"booking": b, "why": decision.why[b]} for b in decision.release],
        "cut": [{"booking": b, "quantity": q} for b, q in decision.cut.items()],
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
    events.record(session, order_id=order.id, kind="repaired", actor=actor, details=details,
                  at=at)
    for b in result.booked:
        events.record(session, order_id=order.id, kind="work_order_sent", actor=actor,
                      details={"booking": b.id, "resource": b.resource, "step": b.step,
                               "quantity": b.quantity, "start": format_utc(b.start),
                               "end": format_utc(b.end)}, at=at)
    if not result.planned or result.late_by_min > 0:
        events.record(session, order_id=order.id, kind="delayed", actor=actor,
                      details={"late_by_min": result.late_by_min, "planned": result.planned,
                               "reason": result.reason or "repaired plan finishes late",
                               "cause": result.cause,
                               "finish": details["finish"], "due": details["due"]}, at=at)
