"""What the shop floor tells the platform, one flow per fact, called from REST and MQTT alike.

A factory accepts or declines a work order, reports progress (gateway or REST), a machine goes
down, a gateway publishes a calendar. Each flow stores the fact and, when the fact breaks the
plan, runs ``services.flows.repair`` in the same transaction; the caller commits and then
dispatches the new work orders it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling.repair import Breakage
from services.bookings import service as booking_service
from services.bookings.models import Booking, BookingRead, BookingState, WorkOrderState
from services.core.errors import ConflictError, NotFoundError
from services.events import service as events
from services.flows.repair import QuoteFn, RepairResult, default_quote, orders_on, repair_order
from services.live.store import LiveStateStore
from services.orders.models import Order


def _locked_booking(session: Session, booking_id: str) -> Booking:
    """The booking, after locking its order row (the order every writer locks in)."""
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError("booking", booking_id)
    if booking.order_id is not None:
        session.get(Order, booking.order_id, with_for_update=True)
    session.refresh(booking, with_for_update=True)
    return booking


def accept_work(session: Session, *, booking_id: str, actor: str = "system") -> Booking:
    """The factory confirms it will make the lot (idempotent)."""
    booking = _locked_booking(session, booking_id)
    if booking.work_order == WorkOrderState.DECLINED.value:
        raise ConflictError(f"work order {booking_id} was declined; it cannot be accepted")
    if booking.status == BookingState.CANCELLED.value:
        raise ConflictError(f"booking {booking_id} is cancelled")
    if booking.work_order != WorkOrderState.ACCEPTED.value:
        booking.work_order = WorkOrderState.ACCEPTED.value
        if booking.order_id is not None:
            events.record(session, order_id=booking.order_id, kind="work_order_accepted",
                          actor=actor, details={"booking": booking_id,
                                                "resource": booking.resource_id})
    session.flush()
    return booking


def decline_work(session: Session, *, booking_id: str, reason: str, now: datetime,
                 unavailable: set[str] | frozenset[str] = frozenset(), actor: str = "system",
                 quote_fn: QuoteFn = default_quote) -> RepairResult | None:
    """The factory will not make the lot: it is released and the order repaired elsewhere.

    Only a lot that has not started can be declined (a running lot is the factory's to finish
    or to report broken).
    """
    booking = _locked_booking(session, booking_id)
    if booking.status != BookingState.BOOKED.value or booking.done or booking.scrap:
        raise ConflictError(f"booking {booking_id} is {booking.status}; only a lot that has "
                            "not started can be declined")
    booking.work_order = WorkOrderState.DECLINED.value
    booking.work_order_note = reason
    session.flush()
    if booking.order_id is None:
        booking.status = BookingState.CANCELLED.value
        session.flush()
        return None
    events.record(session, order_id=booking.order_id, kind="declined", actor=actor,
                  details={"booking": booking_id, "resource": booking.resource_id,
                           "reason": reason})
    result = repair_order(session, order_id=booking.order_id, cause=f"declined: {reason}",
                          now=now, broken=Breakage(lots=frozenset({booking_id})),
                          unavailable=unavailable, actor=actor, quote_fn=quote_fn)
    # Blocked orders (already cancelled) still give the time back.
    booking.status = BookingState.CANCELLED.value
    session.flush()
    return result


@dataclass(slots=True)
class ProgressResult:
    """What a progress report changed: the repair it caused and the work orders to re-send
    (lots whose input arrived, lots repaired in, lots withdrawn)."""

    booking: Booking
    repair: RepairResult | None = None
    send: list[BookingRead] = field(default_factory=list)


def report_progress(session: Session, *, booking_id: str, done: int, scrap: int,
                    now: datetime, unavailable: set[str] | frozenset[str] = frozenset(),
                    actor: str = "system",
                    quote_fn: QuoteFn = default_quote) -> ProgressResult:
    """Store cumulative progress; a finished lot hands its pieces on, or is remade if short."""
    booking = booking_service.record_progress(session, booking_id=booking_id, done=done,
                                              scrap=scrap, actor=actor)
    result = ProgressResult(booking)
    if booking.status != BookingState.DONE.value or booking.order_id is None:
        return result
    if booking.done < booking.quantity:
        result.repair = repair_order(
            session, order_id=booking.order_id,
            cause=f"scrap: lot {booking_id} made {booking.done} good of {booking.quantity}",
            now=now, broken=Breakage(), unavailable=unavailable, actor=actor,
            quote_fn=quote_fn)
        result.send += work_orders_of(session, result.repair)
    sent = {b.id for b in result.send}
    result.send += [b for b in downstream_of(session, booking) if b.id not in sent]
    return result


def work_orders_of(session: Session, result: RepairResult | None) -> list[BookingRead]:
    """The work orders a repair changes: the withdrawn lots, then the new ones."""
    if result is None:
        return []
    released = list(session.scalars(select(Booking).where(Booking.id.in_(result.released))))
    return with_inputs(session, booking_service.read_all(session, released) + result.booked)


def resource_down(session: Session, *, resource_id: str, now: datetime,
                  unavailable: set[str] | frozenset[str] = frozenset(), actor: str = "system",
                  quote_fn: QuoteFn = default_quote) -> list[RepairResult]:
    """A machine cannot work: every order with open lots on it is repaired."""
    broken = Breakage(resources=frozenset({resource_id}))
    return [repair_order(session, order_id=oid, cause=f"resource {resource_id} down",
                         now=now, broken=broken, unavailable=unavailable, actor=actor,
                         quote_fn=quote_fn)
            for oid in orders_on(session, resource_ids=[resource_id])]


def calendar_stranded(session: Session, *, resource_id: str, booking_ids: list[str],
                      now: datetime, unavailable: set[str] | frozenset[str] = frozenset(),
                      actor: str = "system",
                      quote_fn: QuoteFn = default_quote) -> list[RepairResult]:
    """A gateway's calendar no longer holds ``booking_ids``: their orders are repaired."""
    broken = Breakage(lots=frozenset(booking_ids))
    return [repair_order(session, order_id=oid,
                         cause=f"resource {resource_id} calendar no longer holds the lot",
                         now=now, broken=broken, unavailable=unavailable, actor=actor,
                         quote_fn=quote_fn)
            for oid in orders_on(session, booking_ids=booking_ids)]


# We assume a lot's pieces travel on when the whole lot is done (the matcher's assumption
# too), and that a lot cut short by a breakdown hands on the pieces it finished.
DELIVERED = (BookingState.DONE.value, BookingState.CANCELLED.value)


def with_inputs(session: Session, rows: list[BookingRead]) -> list[BookingRead]:
    """``rows`` with ``input_ready`` set: the good input pieces delivered to each lot so far.

    A step's delivered pieces (the finished lots of the steps it comes after, the fewest of
    them) are handed to its lots in start order, each up to its quantity. A first step's
    lots get None: their input (the customer's material) is on hand.
    """
    out: list[BookingRead] = []
    cache: dict[str, dict[str, int]] = {}
    for row in rows:
        if row.order is None or row.step is None:
            out.append(row)
            continue
        shares = cache.get(row.order)
        if shares is None:
            shares = cache[row.order] = _input_shares(session, row.order)
        out.append(row.model_copy(update={"input_ready": shares.get(row.id)}))
    return out


def _input_shares(session: Session, order_id: str) -> dict[str, int]:
    order = session.get(Order, order_id)
    if order is None:
        return {}
    lots = list(session.scalars(select(Booking).where(Booking.order_id == order_id)
                                .order_by(Booking.start, Booking.id)))
    delivered: dict[str | None, int] = {}
    for b in lots:
        if b.status in DELIVERED:
            delivered[b.step_id] = delivered.get(b.step_id, 0) + b.done
    shares: dict[str, int] = {}
    for step in order.steps:
        if not step.after:
            continue
        left = min(delivered.get(a, 0) for a in step.after)
        for b in lots:
            if b.step_id == step.id and b.status != BookingState.CANCELLED.value:
                shares[b.id] = min(b.quantity, left)
                left -= shares[b.id]
    return shares


def downstream_of(session: Session, booking: Booking) -> list[BookingRead]:
    """The open lots of the steps after ``booking``'s step, with their input now delivered."""
    order = session.get(Order, booking.order_id) if booking.order_id else None
    if order is None:
        return []
    later = {s.id for s in order.steps if booking.step_id in s.after}
    rows = list(session.scalars(select(Booking).where(
        Booking.order_id == order.id, Booking.step_id.in_(later),
        Booking.status.in_((BookingState.BOOKED.value, BookingState.RUNNING.value)))))
    return with_inputs(session, booking_service.read_all(session, rows))


def offline_sweep(session: Session, *, live: LiveStateStore, now: datetime,
                  grace: timedelta, actor: str = "system") -> list[RepairResult]:
    """Repair the orders on resources offline for longer than ``grace``.

    A gateway that drops off for a minute (a reboot, a Wi-Fi blip) keeps its bookings; one
    silent past the grace period is treated like a machine down. Run it periodically (the
    ingest worker does); several workers may: the order row lock makes the second a no-op.
    """
    rids = sorted(set(session.scalars(select(Booking.resource_id).where(
        Booking.status == BookingState.BOOKED.value, Booking.end > now).distinct())))
    states = live.get_many(rids)
    gone = [rid for rid, st in states.items()
            if st.status == "offline" and now - st.last_seen > grace]
    unavailable = live.unavailable()
    results: list[RepairResult] = []
    for rid in gone:
        broken = Breakage(resources=frozenset({rid}))
        results += [repair_order(session, order_id=oid,
                                 cause=f"resource {rid} offline for more than {grace}",
                                 now=now, broken=broken, unavailable=unavailable | {rid},
                                 actor=actor)
                    for oid in orders_on(session, resource_ids=[rid])]
    return results
