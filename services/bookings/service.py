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
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import model as m
from domain.schemas import load_plan
from services.bookings import history
from services.bookings.models import ACTIVE_STATES, Booking, BookingRead, BookingState
from services.core.db import page
from services.core.errors import ConflictError, InvalidError, NotFoundError
from services.factories.models import Factory
from services.orders.models import Order, OrderState
from services.orders.transitions import transition
from services.quotes.models import Quote, QuoteState
from services.resources.models import Resource


def get(session: Session, *, booking_id: str) -> Booking | None:
    return session.get(Booking, booking_id)


def get_all(session: Session, *, order_id: str | None = None, resource_id: str | None = None,
            factory_id: str | None = None, park_id: str | None = None,
            status: str | None = None, limit: int | None = None,
            offset: int = 0) -> Sequence[Booking]:
    """Bookings matching every filter given, by start time."""
    query = select(Booking)
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


def accept(session: Session, *, quote_id: str, now: datetime,
           ttl_s: int, actor: str = "system") -> list[BookingRead]:
    """Book every lot of an offered quote at once, or nothing (ConflictError names the lot)."""
    quote = session.get(Quote, quote_id, with_for_update=True)
    if quote is None:
        raise NotFoundError("quote", quote_id)
    order = session.get(Order, quote.order_id, with_for_update=True)
    if order is None:  # pragma: no cover - the foreign key cascades quotes with their order
        raise NotFoundError("order", quote.order_id)
    _check_acceptable(quote, order, now, ttl_s)
    plan = load_plan({"orders": [quote.plan]}).orders[0]
    resources = _lock_resources(session, sorted({a.resource for a in plan.allocations}))
    rows: list[Booking] = []
    for a in plan.allocations:
        resource = resources.get(a.resource)
        if resource is None:
            raise ConflictError(f"quote {quote_id}: resource {a.resource!r} no longer exists; "
                                "ask for a new quote")
        _check_in_window(resource, a.start, a.end, quote_id)
        _check_free(session, resource, a.start, a.end)
        row = Booking(
            id=f"B-{uuid.uuid4().hex[:12]}", resource_id=resource.id, order_id=order.id,
            step_id=a.step, quote_id=quote.id, quantity=a.quantity, start=a.start, end=a.end,
            pricing=a.pricing.value, cost=a.cost, status=BookingState.BOOKED.value,
            exclusive=resource.capacity == 1, source="quote")
        session.add(row)
        session.flush()  # the next lot's check sees this one
        rows.append(row)
    quote.status = QuoteState.ACCEPTED.value
    for other in session.scalars(select(Quote).where(Quote.order_id == order.id,
                                                     Quote.id != quote.id)):
        other.status = QuoteState.SUPERSEDED.value
    transition(session, order=order, to=OrderState.ACCEPTED, actor=actor, at=now, details={
        "quote": quote.id, "kind": quote.kind, "total_cost": quote.total_cost,
        "completion": quote.plan.get("completion"), "bookings": [b.id for b in rows]})
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


def _free_spans(resource: Resource) -> list[tuple[datetime, datetime]]:
    """The resource's windows with touching or overlapping ones joined: [8, 12) + [12, 20) is
    one stretch of free time [8, 20), as the matching engine sees it."""
    spans: list[tuple[datetime, datetime]] = []
    for w in sorted(resource.windows, key=lambda w: w.start):
        if spans and w.start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], w.end))
        else:
            spans.append((w.start, w.end))
    return spans


def _check_in_window(resource: Resource, start: datetime, end: datetime, quote_id: str) -> None:
    if not any(s <= start and end <= e for s, e in _free_spans(resource)):
        raise ConflictError(
            f"quote {quote_id}: resource {resource.id} is no longer free "
            f"{start.isoformat()}..{end.isoformat()} (its calendar changed); ask for a new quote")


def _check_free(session: Session, resource: Resource, start: datetime, end: datetime) -> None:
    """ConflictError when one more lot over [start, end) exceeds the resource's capacity.

    Counts every flushed booking, so earlier lots of the same acceptance are included.
    """
    stored = session.scalars(select(Booking).where(
        Booking.resource_id == resource.id, Booking.status.in_(ACTIVE_STATES),
        Booking.start < end, Booking.end > start)).all()
    overlapping = [(b.start, b.end) for b in stored]
    if _peak(overlapping, start, end) + 1 > resource.capacity:
        raise ConflictError(
            f"resource {resource.id} is already booked between {start.isoformat()} and "
            f"{end.isoformat()} (capacity {resource.capacity}): double booking refused")


def _peak(intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> int:
    """Most intervals running at one instant inside [start, end) (a sweep over the edges)."""
    edges = sorted([(max(s, start), 1) for s, _ in intervals]
                   + [(min(e, end), -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    peak = running = 0
    for _, delta in edges:
        running += delta
        peak = max(peak, running)
    return peak


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
    _check_free(session, resource, booking.start, booking.end)
    row = Booking(id=booking.id, resource_id=resource.id, order_id=booking.order,
                  step_id=booking.step, quantity=booking.quantity, start=booking.start,
                  end=booking.end, status=BookingState.BOOKED.value,
                  exclusive=resource.capacity == 1, source=source)
    session.add(row)
    session.flush()
    return row


def record_progress(session: Session, *, booking_id: str, done: int, scrap: int,
                    actor: str = "gateway", at: datetime | None = None) -> None:
    """Store a gateway's cumulative progress; a booking whose pieces are all accounted is done.

    When every booking of the order is done, so is the order.
    """
    if done < 0:
        raise InvalidError("done", f"must be >= 0, got {done}")
    if scrap < 0:
        raise InvalidError("scrap", f"must be >= 0, got {scrap}")
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError("booking", booking_id)
    if booking.status == BookingState.CANCELLED.value:
        raise ConflictError(f"booking {booking_id} is cancelled")
    booking.done, booking.scrap = done, scrap
    # We assume scrapped pieces are remade elsewhere: the lot is finished when done + scrap
    # covers its quantity.
    finished = done + scrap >= booking.quantity
    booking.status = (BookingState.DONE if finished else BookingState.RUNNING).value
    session.flush()
    history.progress_recorded(session, booking=booking, actor=actor, at=at)
    if booking.order_id is not None:
        _advance_order(session, booking.order_id, actor=actor, at=at)


def _advance_order(session: Session, order_id: str, *, actor: str,
                   at: datetime | None) -> None:
    order = session.get(Order, order_id)
    if order is None:
        return
    statuses = set(session.scalars(select(Booking.status).where(
        Booking.order_id == order_id, Booking.status != BookingState.CANCELLED.value)))
    history.advance(session, order=order, booking_statuses=statuses, actor=actor, at=at)


def to_domain(b: Booking) -> m.Booking:
    return m.Booking(id=b.id, resource=b.resource_id, start=b.start, end=b.end,
                     order=b.order_id, step=b.step_id, quantity=b.quantity)


def to_read(b: Booking, *, park: str, factory: str) -> BookingRead:
    return BookingRead(
        id=b.id, park=park, factory=factory, resource=b.resource_id, order=b.order_id,
        step=b.step_id, quote=b.quote_id, quantity=b.quantity, start=b.start, end=b.end,
        pricing=b.pricing, cost=b.cost, done=b.done, scrap=b.scrap,
        status=BookingState(b.status))


def read_all(session: Session, rows: Sequence[Booking]) -> list[BookingRead]:
    """BookingRead of rows, their park and factory looked up in one query."""
    ids = {b.resource_id for b in rows}
    owners = {rid: (park, fid) for rid, fid, park in session.execute(
        select(Resource.id, Resource.factory_id, Factory.park_id).join(Factory)
        .where(Resource.id.in_(ids)))}
    return [to_read(b, park=owners[b.resource_id][0], factory=owners[b.resource_id][1])
            for b in rows]
