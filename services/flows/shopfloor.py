"""What the shop floor tells the platform, one flow per fact, called from REST and MQTT alike.

A factory accepts or declines a work order, reports progress (gateway or REST), a machine goes
down, a gateway publishes a calendar. Each flow stores the fact and, when the fact breaks the
plan, runs ``services.flows.repair`` in the same transaction; the caller commits and then
dispatches the new work orders it gets back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.schemas import format_utc
from scheduling.arrival import arrival
from scheduling.overrun import LotProgress, judge
from scheduling.repair import Breakage, Cut
from services.bookings import ledger
from services.bookings import service as booking_service
from services.bookings.models import Booking, BookingRead, BookingState, WorkOrderState
from services.core.errors import ConflictError, NotFoundError
from services.events import service as events
from services.factories.models import Factory as FactoryRow
from services.flows.repair import QuoteFn, RepairResult, default_quote, orders_on, repair_order
from services.live.store import LiveStateStore
from services.orders.models import Order
from services.ratings.models import LotRecord
from services.resources.models import Resource
from services.scenario.market_view import market_facts


def _locked_booking(session: Session, booking_id: str) -> Booking:
    """The booking, after locking its order row (the order every writer locks in)."""
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError("booking", booking_id)
    if booking.order_id is not None:
        session.get(Order, booking.order_id, with_for_update=True)
    session.refresh(booking, with_for_update=True)
    return booking


def accept_work(session: Session, *, booking_id: str, actor: str = "system",
                now: datetime | None = None) -> Booking:
    """The factory confirms it will make the lot (idempotent); ``now``: the event's time."""
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
                                                "resource": booking.resource_id}, at=now)
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
                           "reason": reason}, at=now)
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
                    actor: str = "system", quote_fn: QuoteFn = default_quote,
                    grace: timedelta | None = None) -> ProgressResult:
    """Store cumulative progress; a finished lot hands its pieces on, or is remade if short.

    A running lot whose pace cannot finish it within ``grace`` (default ``OVERRUN_GRACE``)
    of its booked end is cut to what it makes by then, and the rest is re-planned.
    """
    booking = booking_service.record_progress(session, booking_id=booking_id, done=done,
                                              scrap=scrap, actor=actor, at=now)
    result = ProgressResult(booking)
    if booking.order_id is None:
        return result
    if booking.status != BookingState.DONE.value:
        result.repair = check_overrun(session, booking=booking, now=now,
                                      grace=grace or OVERRUN_GRACE, unavailable=unavailable,
                                      actor=actor, quote_fn=quote_fn)
        result.send += work_orders_of(session, result.repair)
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
    """The work orders a repair changes: the withdrawn and cut lots, then the new ones."""
    if result is None:
        return []
    changed = list(session.scalars(select(Booking).where(
        Booking.id.in_([*result.released, *result.cut])).order_by(Booking.start, Booking.id)))
    return with_inputs(session, booking_service.read_all(session, changed) + result.booked)


# A lot may run this long past its booked end (or be on course to) before it is repaired:
# a few minutes late is the shop floor's normal noise, not a broken plan.
OVERRUN_GRACE = timedelta(minutes=10)


def check_overrun(session: Session, *, booking: Booking, now: datetime,
                  grace: timedelta = OVERRUN_GRACE,
                  unavailable: set[str] | frozenset[str] = frozenset(), actor: str = "system",
                  quote_fn: QuoteFn = default_quote) -> RepairResult | None:
    """Repair the order of ``booking`` if the lot overruns its booking (``scheduling.overrun``).

    Past its end the lot is released: what it made counts, the rest is re-planned. On course
    to finish late it keeps its machine to its booked end, cut to the pieces its pace makes by
    then, and the rest is re-planned; when nothing can take the rest, the plan stays as it is
    and the customer is told how late it will finish.
    """
    if booking.order_id is None or booking.status not in (BookingState.BOOKED.value,
                                                          BookingState.RUNNING.value):
        return None
    start, end = ledger.lot_interval(booking.start, booking.end)
    lot = LotProgress(start=start, end=end, quantity=booking.quantity, done=booking.done,
                      scrap=booking.scrap)
    at, slack = int(now.timestamp()), int(grace.total_seconds())
    # Judged first as if its input were on hand since its booked start: the harshest view.
    # A lot on course even so (nearly every progress report) costs no more queries.
    if judge(lot, now=at, grace=slack, input_on_hand=True) is None:
        return None
    share, arrived = _input_shares(session, booking.order_id).get(booking.id, (None, None))
    lot = replace(lot, ready=int(arrived.timestamp()) if arrived is not None else None)
    verdict = judge(lot, now=at, grace=slack,
                    input_on_hand=share is None or share >= booking.quantity)
    if verdict is None:
        return None
    made = f"made {booking.done} good and {booking.scrap} scrap of {booking.quantity}"
    subject = f"overrun of lot {booking.id} on {booking.resource_id}"
    if verdict.past_end:
        late = math.ceil((now - booking.end) / timedelta(minutes=1))
        cause = (f"{subject}: still not finished {late} min after its booked end "
                 f"{format_utc(booking.end)} ({made}); the rest is made elsewhere")
        fallback = now + (booking.end - booking.start) * (
            1 - lot.through / max(1, booking.quantity))
    else:
        assert verdict.projected_end is not None
        fallback = datetime.fromtimestamp(verdict.projected_end, tz=now.tzinfo)
        cause = (f"{subject}: at its pace so far ({made}) it finishes at "
                 f"{format_utc(fallback)}, {verdict.late_by(end) // 60} min after its booked "
                 f"end; it makes {verdict.through_by_end} by then and the rest is made "
                 "elsewhere")
    if verdict.past_end or verdict.through_by_end <= lot.through:
        broken = Breakage(lots=frozenset({booking.id}))  # nothing more from it in its time
    else:
        broken = Breakage(cuts=(Cut(booking.id, verdict.through_by_end),))
    return repair_order(session, order_id=booking.order_id, cause=cause, now=now,
                        broken=broken, unavailable=unavailable, actor=actor,
                        quote_fn=quote_fn, fallback_finish=fallback)


def overrun_sweep(session: Session, *, now: datetime, grace: timedelta = OVERRUN_GRACE,
                  unavailable: set[str] | frozenset[str] = frozenset(), actor: str = "system",
                  quote_fn: QuoteFn = default_quote) -> list[RepairResult]:
    """Check every lot of a live order that should have begun by now (a stalled machine
    sends no progress: only a periodic sweep notices it). Run by the housekeeping worker and
    the ingest worker; several may: the order row lock serialises them."""
    ids = list(session.scalars(select(Booking.id).where(
        Booking.status.in_((BookingState.BOOKED.value, BookingState.RUNNING.value)),
        Booking.order_id.is_not(None), Booking.start < now - grace)
        .order_by(Booking.start, Booking.id)))
    results: list[RepairResult] = []
    for bid in ids:
        booking = session.get(Booking, bid)
        if booking is None or booking.status not in (BookingState.BOOKED.value,
                                                     BookingState.RUNNING.value):
            continue  # released by the repair of an earlier lot of its order
        result = check_overrun(session, booking=booking, now=now, grace=grace,
                               unavailable=unavailable, actor=actor, quote_fn=quote_fn)
        if result is not None:
            results.append(result)
    return results


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
    """``rows`` as work orders: with ``input_ready`` and ``input_at`` set (the good input pieces
    delivered to each lot so far, and when they are at its factory) and the step's facts
    (material, process, times) where a row lacks them.

    A step's delivered pieces (the finished lots of the steps it comes after, the fewest of
    them) are handed to its lots in start order, each up to its quantity. A first step's
    lots get None: their input (the customer's material) is on hand.
    """
    out: list[BookingRead] = []
    cache: dict[str, dict[str, tuple[int, datetime | None]]] = {}
    for row in booking_service.with_step_facts(session, rows):
        if row.order is None or row.step is None:
            out.append(row)
            continue
        shares = cache.get(row.order)
        if shares is None:
            shares = cache[row.order] = _input_shares(session, row.order)
        ready, at = shares.get(row.id, (None, None))
        out.append(row.model_copy(update={"input_ready": ready, "input_at": at}))
    return out


def _input_shares(session: Session, order_id: str) -> dict[str, tuple[int, datetime | None]]:
    """Lot id -> (good input pieces delivered to it, when they are all at its factory)."""
    order = session.get(Order, order_id)
    if order is None:
        return {}
    lots = list(session.scalars(select(Booking).where(Booking.order_id == order_id)
                                .order_by(Booking.start, Booking.id)))
    delivered: dict[str | None, int] = {}
    for b in lots:
        if b.status in DELIVERED:
            delivered[b.step_id] = delivered.get(b.step_id, 0) + b.done
    arrive = _Arrivals(session, lots)
    shares: dict[str, tuple[int, datetime | None]] = {}
    for step in order.steps:
        if not step.after:
            continue
        left = min(delivered.get(a, 0) for a in step.after)
        feeding = [u for u in lots if u.step_id in step.after and u.status in DELIVERED
                   and u.done > 0]
        for b in lots:
            if b.step_id == step.id and b.status != BookingState.CANCELLED.value:
                share = min(b.quantity, left)
                left -= share
                at = arrive.at(feeding, b) if share else None
                shares[b.id] = (share, at)
    return shares


class _Arrivals:
    """When upstream lots' pieces reach a lot's factory: finish (the lot record's, else the
    booked end) plus the haul between the two factories (``scheduling.arrival``).

    We assume the pieces handed to a lot may come from any finished upstream lot, so the
    lot waits for the last of them: never early, sometimes a little late.
    """

    def __init__(self, session: Session, lots: list[Booking]) -> None:
        rids = sorted({b.resource_id for b in lots})
        self.site: dict[str, tuple[float, float]] = {
            row.id: (row.lat, row.lon) for row in session.execute(
                select(Resource.id, FactoryRow.lat, FactoryRow.lon)
                .join(FactoryRow, Resource.factory_id == FactoryRow.id)
                .where(Resource.id.in_(rids)))}
        self.finished: dict[str, datetime] = {
            row.booking_id: row.finished_at for row in session.execute(
                select(LotRecord.booking_id, LotRecord.finished_at)
                .where(LotRecord.booking_id.in_([b.id for b in lots])))}
        self.transport = market_facts(session, datetime.now(UTC))[1]

    def at(self, feeding: list[Booking], lot: Booking) -> datetime | None:
        times = [arrival(self.finished.get(u.id, u.end), self.site[u.resource_id],
                         self.site[lot.resource_id], self.transport)
                 for u in feeding if u.resource_id in self.site and lot.resource_id in self.site]
        return max(times) if times else None


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
