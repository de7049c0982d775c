"""/quotes/{id}/accept books a quote atomically; /bookings lists what is booked; the shop
floor accepts or declines work orders and reports progress under /bookings/{id}."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, Query, Request
from fastapi import status as http

from services.audit import service as audit
from services.auth import scope
from services.auth.deps import CurrentPrincipal
from services.bookings import service
from services.bookings.dispatch import Dispatcher, DispatcherDep
from services.bookings.models import BookingRead, BookingState, DeclineIn, ProgressIn, RepairRead
from services.core.db import MAX_OFFSET, DbSession
from services.core.errors import ConflictError, NotFoundError
from services.core.metrics import BOOKING_CONFLICTS, BOOKINGS
from services.flows import shopfloor
from services.orders import service as order_service
from services.orders.views import get_owned
from services.quotes import service as quote_service

router = APIRouter(tags=["bookings"])
log = logging.getLogger(__name__)


@router.post("/quotes/{quote_id}/accept", response_model=list[BookingRead],
             status_code=http.HTTP_201_CREATED)
def accept_quote(db: DbSession, request: Request, dispatcher: DispatcherDep,
                 principal: CurrentPrincipal, quote_id: str) -> list[BookingRead]:
    """Book every lot of the quote or none (409 with the reason), then send the work orders."""
    state = request.app.state
    quote = quote_service.get(db, quote_id=quote_id)
    order = order_service.get(db, order_id=quote.order_id) if quote is not None else None
    if quote is None or order is None or not scope.owns_order(principal, order):
        raise NotFoundError("quote", quote_id)
    try:
        bookings = service.accept(db, quote_id=quote_id, now=state.clock(),
                                  ttl_s=state.settings.quote_ttl_s,
                                  unavailable=state.live.unavailable(), actor=principal.actor)
    except ConflictError:
        BOOKING_CONFLICTS.inc()
        raise
    audit.record_by(db, principal, action="quote.accepted", object_type="quote",
                    object_id=quote_id, owner_org=order.org_id,
                    after={"order": order.id, "total_cost": quote.total_cost,
                           "bookings": [b.model_dump(mode="json") for b in bookings]})
    orders = shopfloor.with_inputs(db, bookings)
    db.commit()  # the work orders go out only for bookings that are really stored
    BOOKINGS.inc(len(bookings))
    _dispatch(dispatcher, orders)
    return bookings


def _dispatch(dispatcher: Dispatcher, bookings: list[BookingRead]) -> None:
    """Send work orders of committed bookings; the bookings stand if the broker fails."""
    if not bookings:
        return
    try:
        dispatcher.dispatch(bookings)
    except Exception:  # the gateway re-syncs from the API
        log.exception("dispatching %d work orders failed", len(bookings))


def _own_lot(db: DbSession, principal: CurrentPrincipal, booking_id: str) -> None:
    """404 unless the booking is on a resource of the caller's factory organisation."""
    booking = service.get(db, booking_id=booking_id)
    if booking is None or not (principal.is_platform or (
            principal.org_kind == "factory" and scope.sees_booking(db, principal, booking))):
        raise NotFoundError("booking", booking_id)


@router.post("/bookings/{booking_id}/accept-work", response_model=BookingRead)
def accept_work(db: DbSession, request: Request, principal: CurrentPrincipal,
                booking_id: str) -> BookingRead:
    """The factory confirms the work order of the booking."""
    _own_lot(db, principal, booking_id)
    booking = shopfloor.accept_work(db, booking_id=booking_id, actor=principal.actor,
                                    now=request.app.state.clock())
    return service.read_all(db, [booking])[0]


@router.post("/bookings/{booking_id}/decline", response_model=RepairRead)
def decline_work(db: DbSession, request: Request, dispatcher: DispatcherDep,
                 principal: CurrentPrincipal, booking_id: str,
                 decline: DeclineIn) -> RepairRead:
    """The factory declines the work order: the lot is released and the order re-planned."""
    _own_lot(db, principal, booking_id)
    state = request.app.state
    result = shopfloor.decline_work(db, booking_id=booking_id, reason=decline.reason,
                                    now=state.clock(), unavailable=state.live.unavailable(),
                                    actor=principal.actor)
    orders = shopfloor.work_orders_of(db, result)
    db.commit()
    _dispatch(dispatcher, orders)
    return RepairRead.of(result, booking_id=booking_id)


@router.post("/bookings/{booking_id}/progress", response_model=BookingRead)
def report_progress(db: DbSession, request: Request, dispatcher: DispatcherDep,
                    principal: CurrentPrincipal, booking_id: str,
                    progress: ProgressIn) -> BookingRead:
    """Progress of a factory without a gateway: cumulative done and scrapped pieces."""
    _own_lot(db, principal, booking_id)
    state = request.app.state
    result = shopfloor.report_progress(db, booking_id=booking_id, done=progress.done,
                                       scrap=progress.scrap, now=state.clock(),
                                       unavailable=state.live.unavailable(),
                                       actor=principal.actor,
                                       grace=timedelta(seconds=state.settings.overrun_grace_s))
    answer = service.read_all(db, [result.booking])[0]
    db.commit()
    _dispatch(dispatcher, result.send)
    return answer


@router.post("/orders/{order_id}/cancel", response_model=list[BookingRead])
def cancel_order(db: DbSession, request: Request, principal: CurrentPrincipal,
                 order_id: str) -> list[BookingRead]:
    """Cancel the order; answers the bookings whose time was given back."""
    order = get_owned(db, principal, order_id)
    before = order.status
    freed = service.read_all(db, service.cancel_order(
        db, order_id=order_id, actor=principal.actor, now=request.app.state.clock()))
    audit.record_by(db, principal, action="order.cancelled", object_type="order",
                    object_id=order_id, owner_org=order.org_id, before={"status": before},
                    after={"status": order.status, "freed": [b.id for b in freed]})
    return freed


@router.get("/bookings", response_model=list[BookingRead])
def list_bookings(db: DbSession, principal: CurrentPrincipal,
                  order: str | None = Query(None, description="bookings of this order"),
                  resource: str | None = Query(None, description="on this resource"),
                  factory: str | None = Query(None, description="on this factory's resources"),
                  park: str | None = Query(None, description="in this park's factories"),
                  status: BookingState | None = None,
                  limit: int = Query(1000, ge=1, le=10_000),
                  offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> list[BookingRead]:
    """Bookings matching every filter given (and visible to the caller); an unknown query
    parameter is a 422."""
    rows = service.get_all(db, order_id=order, resource_id=resource, factory_id=factory,
                           park_id=park, status=status.value if status else None,
                           limit=limit, offset=offset, visible=scope.bookings(principal))
    return service.read_all(db, rows)


@router.get("/bookings/{booking_id}", response_model=BookingRead)
def get_booking(db: DbSession, principal: CurrentPrincipal, booking_id: str) -> BookingRead:
    booking = service.get(db, booking_id=booking_id)
    if booking is None or not scope.sees_booking(db, principal, booking):
        raise NotFoundError("booking", booking_id)
    return service.read_all(db, [booking])[0]
