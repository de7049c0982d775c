"""Bookings: committing a quote's lots to resources, never double booking, and progress.

The check runs inside the caller's transaction after locking the resource rows (SELECT ... FOR
UPDATE on PostgreSQL; SQLite transactions start with BEGIN IMMEDIATE, see ``services.core.db``), so
two acceptances touching one resource are serialised. A capacity-1 resource takes no
overlapping lots; a capacity-c service line takes at most c lots at any instant. PostgreSQL's
exclusion constraint backs up the capacity-1 case in the database itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from domain import model as m
from domain.schemas import format_utc, load_plan
from scheduling.booking import Lot, book
from services.bookings import history, ledger
from services.bookings.models import Booking, BookingRead, BookingState, WorkOrderState
from services.core.db import page
from services.core.errors import ConflictError, InvalidError, NotFoundError
from services.events import service as events
from services.factories.models import Factory
from services.orders.models import Order, OrderState, OrderStep
from services.orders.transitions import transition
from services.quotes.models import Quote, QuoteState
from services.resources.models import Resource


def get(session: Session, *, booking_id: str) -> Booking | None:
    return session.get(Booking, booking_id)


def get_all(session: Session, *, order_id: str | None = None, resource_id: str | None = None,
            factory_id: str | None = None, park_id: str | None = None,
            status: str | None = None, limit: int | None = None,
            offset: int = 0, visible: ColumnElement[bool] | None = None) -> Sequence[Booking]:
    """Bookings matching every filter given, by start time; ``visible`` is the caller's
    tenancy condition (auth.scope)."""
    query = select(Booking) if visible is None else select(Booking).where(visible)
    if order_id is not None:
        query = query.where(Booking.order_id == order_id)
    if resource_id is not None:
        query = query.where(Booking.resource_id == resource_id)
    if factory_id is not None or park_id is not None:
        query = query.join(Resource, Resource.id == Booking.resource_id)
    if factory_id is not None:
        query = query.where(Resource.factory_id == factory_id)
    if park_id is not None:
        query = query.join(Factory, Factory.id == Resource.factory_id).where(
            Factory.park_id == park_id)
    if status is not None:
        query = query.where(Booking.status == status)
    query = query.order_by(Booking.start, Booking.id)
    query = page(query, limit=limit, offset=offset)
    return session.scalars(query).all()


def accept(session: Session, *, quote_id: str, now: datetime, ttl_s: int,
           unavailable: set[str] | frozenset[str] = frozenset(),
           actor: str = "system") -> list[BookingRead]:
    """Book every lot of an offered quote at once, or nothing (ConflictError names the lot).

    Locks in one order everywhere: the order row, then its quote, then the resources by id.
    Two acceptances of quotes of one order queue on the order row instead of each holding a
    quote the other wants to supersede (the deadlock that answered 503 after 1 s).
    ``unavailable`` are the resources the live store shows down or offline: never booked.
    """
    order_id = session.scalar(select(Quote.order_id).where(Quote.id == quote_id))
    if order_id is None:
        raise NotFoundError("quote", quote_id)
    order = session.get(Order, order_id, with_for_update=True)
    quote = session.get(Quote, quote_id, with_for_update=True)
    if order is None or quote is None:  # pragma: no cover - deleted between the two reads
        raise NotFoundError("quote", quote_id)
    _check_acceptable(quote, order, now, ttl_s)
    plan = load_plan({"orders": [quote.plan]}).orders[0]
    resources = _lock_resources(session, sorted({a.resource for a in plan.allocations}))
    lots = [Lot(f"{i}", a.resource, *ledger.lot_interval(a.start, a.end))
            for i, a in enumerate(plan.allocations)]
    conflicts = book(ledger.calendars(session, resources.values(), unavailable=unavailable),
                     lots)
    if conflicts:
        first = conflicts[0]
        a = plan.allocations[int(first.lot)]
        raise ConflictError(ledger.describe(first, quote_id=quote_id, start=a.start, end=a.end))
    rows: list[Booking] = []
    for a in plan.allocations:
        resource = resources[a.resource]
        rows.append(Booking(
            id=f"B-{uuid.uuid4().hex[:12]}", resource_id=resource.id, order_id=order.id,
            step_id=a.step, quote_id=quote.id, quantity=a.quantity, start=a.start, end=a.end,
            pricing=a.pricing.value, cost=a.cost, status=BookingState.BOOKED.value,
            exclusive=resource.capacity == 1, source="quote"))
    session.add_all(rows)
    quote.status = QuoteState.ACCEPTED.value
    for other in session.scalars(select(Quote).where(Quote.order_id == order.id,
                                                     Quote.id != quote.id)):
        other.status = QuoteState.SUPERSEDED.value
    transition(session, order=order, to=OrderState.ACCEPTED, actor=actor, at=now, details={
        "quote": quote.id, "kind": quote.kind, "total_cost": quote.total_cost,
        "completion": quote.plan.get("completion"), "bookings": [b.id for b in rows]})
    for row in rows:
        events.record(session, order_id=order.id, kind="work_order_sent", actor=actor, at=now,
                      details={"booking": row.id, "resource": row.resource_id,
                               "step": row.step_id, "quantity": row.quantity,
                               "start": format_utc(row.start), "end": format_utc(row.end)})
    return [to_read(b, park=resources[b.resource_id].factory.park_id,
                    factory=resources[b.resource_id].factory_id) for b in rows]


def _check_acceptable(quote: Quote, order: Order, now: datetime, ttl_s: int) -> None:
    if quote.status != QuoteState.OFFERED.value:
        raise ConflictError(f"quote {quote.id} is {quote.status}, not offered")
    if quote.plan_status != "planned":
        reason = quote.plan.get("reason") or "no feasible plan"
        raise ConflictError(f"quote {quote.id} offers no plan ({reason})")
    if now - quote.created_at > timedelta(seconds=ttl_s):
        raise ConflictError(f"quote {quote.id} expired after {ttl_s} s; ask for a new quote")
    if order.status not in (OrderState.NEW.value, OrderState.QUOTED.value):
        raise ConflictError(f"order {order.id} is already {order.status}")


def _lock_resources(session: Session, ids: list[str]) -> dict[str, Resource]:
    # Locks in id order, so two acceptances never wait on each other in a cycle.
    rows = session.scalars(select(Resource).where(Resource.id.in_(ids))
                           .order_by(Resource.id).with_for_update())
    return {r.id: r for r in rows}


def cancel_order(session: Session, *, order_id: str, actor: str = "system",
                 now: datetime | None = None) -> list[Booking]:
    """Cancel an order: its unfinished bookings free their time, open quotes lapse.

    Lots already done stay done (the pieces exist); a finished order cannot be cancelled.
    """
    order = session.get(Order, order_id, with_for_update=True)
    if order is None:
        raise NotFoundError("order", order_id)
    if order.status in (OrderState.DONE.value, OrderState.CANCELLED.value):
        raise ConflictError(f"order {order_id} is already {order.status}")
    freed = list(session.scalars(select(Booking).where(
        Booking.order_id == order_id,
        Booking.status.in_((BookingState.BOOKED.value, BookingState.RUNNING.value)))))
    for b in freed:
        b.status = BookingState.CANCELLED.value
    for q in session.scalars(select(Quote).where(Quote.order_id == order_id,
                                                 Quote.status == QuoteState.OFFERED.value)):
        q.status = QuoteState.SUPERSEDED.value
    transition(session, order=order, to=OrderState.CANCELLED, actor=actor, at=now,
               details={"freed_bookings": [b.id for b in freed]})
    return freed


def add_existing(session: Session, *, booking: m.Booking, source: str) -> Booking:
    """Store time already sold elsewhere (scenario import), with the same overlap check.

    A booking id already stored is overwritten by the document's version.
    """
    resource = session.get(Resource, booking.resource)
    if resource is None:
        raise NotFoundError("resource", booking.resource)
    stored = session.get(Booking, booking.id)
    if stored is not None:
        session.delete(stored)
        session.flush()
    lot = Lot(booking.id, resource.id, *ledger.lot_interval(booking.start, booking.end))
    # Time sold elsewhere need not lie in the windows (they list idle time): capacity only.
    calendar = replace(ledger.calendars(session, [resource])[resource.id],
                       windows=((lot.start, lot.end),))
    conflicts = book({resource.id: calendar}, [lot])
    if conflicts:
        raise ConflictError(ledger.describe(conflicts[0], quote_id="import",
                                            start=booking.start, end=booking.end))
    row = Booking(id=booking.id, resource_id=resource.id, order_id=booking.order,
                  step_id=booking.step, quantity=booking.quantity, start=booking.start,
                  end=booking.end, status=BookingState.BOOKED.value,
                  exclusive=resource.capacity == 1, source=source)
    session.add(row)
    session.flush()
    return row


def record_progress(session: Session, *, booking_id: str, done: int, scrap: int,
                    actor: str = "system", at: datetime | None = None) -> Booking:
    """Store cumulative progress; a booking whose pieces are all accounted for is done.

    Counts only grow: with several ingest workers an older report can commit after a newer
    one, so the stored counts are the maxima seen. The order row is locked first (the same
    order as ``accept`` and repair take), then the booking, so the order status is advanced
    by one transaction at a time: the last lot to finish always sees every other lot done.
    """
    if done < 0:
        raise InvalidError("done", f"must be >= 0, got {done}")
    if scrap < 0:
        raise InvalidError("scrap", f"must be >= 0, got {scrap}")
    order_id = session.scalar(select(Booking.order_id).where(Booking.id == booking_id))
    order = session.get(Order, order_id, with_for_update=True) if order_id else None
    booking = session.get(Booking, booking_id, with_for_update=True)
    if booking is None:
        raise NotFoundError("booking", booking_id)
    if booking.status == BookingState.CANCELLED.value:
        raise ConflictError(f"booking {booking_id} is cancelled")
    if done + scrap > booking.quantity and (done, scrap) != (booking.done, booking.scrap):
        raise InvalidError("done", f"done {done} + scrap {scrap} exceed the booking's "
                           f"quantity {booking.quantity}")
    was = booking.status
    before = (booking.done, booking.scrap, booking.status)
    booking.done, booking.scrap = max(booking.done, done), max(booking.scrap, scrap)
    # The lot is finished when done + scrap covers its quantity; a shortfall of good pieces
    # is the repair flow's business (it remakes the missing quantity elsewhere).
    finished = booking.done + booking.scrap >= booking.quantity
    booking.status = (BookingState.DONE if finished else BookingState.RUNNING).value
    session.flush()
    if order is not None:
        # A report that changes nothing (repeated, or older than one applied already: two
        # ingest workers may apply a lot's last reports in either order) is no new event;
        # else a finished lot would be "completed" twice.
        if (booking.done, booking.scrap, booking.status) != before:
            _emit_progress(session, booking, was=was, actor=actor, at=at)
        advance_order(session, order, actor=actor, at=at)
    if finished and was != BookingState.DONE.value:  # a repeated report is no new fact
        history.lot_finished(session, booking=booking, at=at)
    return booking


def _emit_progress(session: Session, booking: Booking, *, was: str, actor: str,
                   at: datetime | None) -> None:
    assert booking.order_id is not None
    details: dict[str, object] = {"booking": booking.id, "step": booking.step_id,
                                  "done": booking.done, "scrap": booking.scrap,
                                  "quantity": booking.quantity}
    if was == BookingState.BOOKED.value:
        events.record(session, order_id=booking.order_id, kind="started", actor=actor,
                      details=details, at=at)
    kind = "completed" if booking.status == BookingState.DONE.value else "progress"
    events.record(session, order_id=booking.order_id, kind=kind, actor=actor, details=details,
                  at=at)


def advance_order(session: Session, order: Order, *, actor: str = "system",
                  at: datetime | None = None) -> None:
    """Order status from its bookings, through the lifecycle; the caller holds the row lock."""
    if order.status in (OrderState.CANCELLED.value, OrderState.DONE.value):
        return
    rows = session.execute(select(Booking.status, Booking.step_id, Booking.done)
                           .where(Booking.order_id == order.id)).all()
    statuses = {st for st, _, _ in rows if st != BookingState.CANCELLED.value}
    good: dict[str | None, int] = {s.id: 0 for s in order.steps}
    for _, step, done in rows:  # a cancelled lot's finished pieces exist too
        good[step] = good.get(step, 0) + done
    # Done means every step delivered the order's quantity of good pieces, not merely that
    # every lot stopped: a lot that ended short waits for its pieces to be remade.
    if statuses == {BookingState.DONE.value} and min(good.values()) >= order.quantity:
        history.advance(session, order=order, target=OrderState.DONE, actor=actor, at=at)
    elif statuses & {BookingState.RUNNING.value, BookingState.DONE.value}:
        history.advance(session, order=order, target=OrderState.IN_PRODUCTION, actor=actor,
                        at=at)
    session.flush()


def to_domain(b: Booking) -> m.Booking:
    return m.Booking(id=b.id, resource=b.resource_id, start=b.start, end=b.end,
                     order=b.order_id, step=b.step_id, quantity=b.quantity)


def to_read(b: Booking, *, park: str, factory: str) -> BookingRead:
    return BookingRead(
        id=b.id, park=park, factory=factory, resource=b.resource_id, order=b.order_id,
        step=b.step_id, quote=b.quote_id, quantity=b.quantity, start=b.start, end=b.end,
        pricing=b.pricing, cost=b.cost, done=b.done, scrap=b.scrap,
        status=BookingState(b.status),
        work_order_status=WorkOrderState(b.work_order or WorkOrderState.SENT.value))


def read_all(session: Session, rows: Sequence[Booking]) -> list[BookingRead]:
    """BookingRead of rows, their park and factory looked up in one query."""
    ids = {b.resource_id for b in rows}
    owners = {rid: (park, fid) for rid, fid, park in session.execute(
        select(Resource.id, Resource.factory_id, Factory.park_id).join(Factory)
        .where(Resource.id.in_(ids)))}
    reads = [to_read(b, park=owners[b.resource_id][0], factory=owners[b.resource_id][1])
             for b in rows]
    return with_step_facts(session, reads)


def with_step_facts(session: Session, reads: list[BookingRead]) -> list[BookingRead]:
    """Each lot with its order's material and its own step's process and times (one query):
    what the factory's lot view and its work orders carry."""
    order_ids = {r.order for r in reads if r.order is not None and r.process is None}
    if not order_ids:
        return reads
    rows = session.execute(
        select(OrderStep.order_id, OrderStep.id, Order.material, OrderStep.process,
               OrderStep.minutes_per_piece, OrderStep.setup_min)
        .join(Order, Order.id == OrderStep.order_id).where(OrderStep.order_id.in_(order_ids)))
    facts = {(oid, sid): facts for oid, sid, *facts in rows}
    out = []
    for r in reads:
        fact = facts.get((r.order, r.step)) if r.order and r.step else None
        if fact is not None:
            r = r.model_copy(update=dict(zip(
                ("material", "process", "minutes_per_piece", "setup_min"), fact, strict=True)))
        out.append(r)
    return out
