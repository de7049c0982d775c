"""/quotes/{id}/accept books a quote atomically; /bookings lists what is booked; the shop
floor accepts or declines work orders and reports progress under /bookings/{id}."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Query, Request
from fastapi import status as http

from services.bookings import service
from services.bookings.dispatch import Dispatcher, DispatcherDep
from services.bookings.models import BookingRead, BookingState, DeclineIn, ProgressIn, RepairRead
from services.core.db import MAX_OFFSET, DbSession
from services.core.errors import ConflictError, NotFoundError
from services.core.metrics import BOOKING_CONFLICTS, BOOKINGS
from services.flows import shopfloor

router = APIRouter(tags=["bookings"])
log = logging.getLogger(__name__)


@router.post("/quotes/{quote_id}/accept", response_model=list[BookingRead],
             status_code=http.HTTP_201_CREATED)
def accept_quote(db: DbSession, request: Request, dispatcher: DispatcherDep,
                 quote_id: str) -> list[BookingRead]:
    """Book every lot of the quote or none (409 with the reason), then send the work orders."""
    state = request.app.state
    try:
        bookings = service.accept(db, quote_id=quote_id, now=state.clock(),
                                  ttl_s=state.settings.quote_ttl_s,
                                  unavailable=state.live.unavailable(), actor="anonymous")
    except ConflictError:
        BOOKING_CONFLICTS.inc()
        raise
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


@router.post("/bookings/{booking_id}/accept-work", response_model=BookingRead)
def accept_work(db: DbSession, booking_id: str) -> BookingRead:
    """The factory confirms the work order of the booking."""
    booking = shopfloor.accept_work(db, booking_id=booking_id, actor="anonymous")
    return service.read_all(db, [booking])[0]


@router.post("/bookings/{booking_id}/decline", response_model=RepairRead)
def decline_work(db: DbSession, request: Request, dispatcher: DispatcherDep, booking_id: str,
                 decline: DeclineIn) -> RepairRead:
    """The factory declines the work order: the lot is released and the order re-planned."""
    state = request.app.state
    result = shopfloor.decline_work(db, booking_id=booking_id, reason=decline.reason,
                                    now=state.clock(), unavailable=state.live.unavailable(),
                                    actor="anonymous")
    orders = shopfloor.work_orders_of(db, result)
    db.commit()
    _dispatch(dispatcher, orders)
    return RepairRead.of(result, booking_id=booking_id)


@router.post("/bookings/{booking_id}/progress", response_model=BookingRead)
def report_progress(db: DbSession, request: Request, dispatcher: DispatcherDep,
                    booking_id: str, progress: ProgressIn) -> BookingRead:
    """Progress of a factory without a gateway: cumulative done and scrapped pieces."""
    state = request.app.state
    result = shopfloor.report_progress(db, booking_id=booking_id, done=progress.done,
                                       scrap=progress.scrap, now=state.clock(),
                                       unavailable=state.live.unavailable(), actor="anonymous")
    answer = service.read_all(db, [result.booking])[0]
    db.commit()
    _dispatch(dispatcher, result.send)
    return answer


@router.post("/orders/{order_id}/cancel", response_model=list[BookingRead])
def cancel_order(db: DbSession, request: Request, order_id: str) -> list[BookingRead]:
    """Cancel the order; answers the bookings whose time was given back."""
    freed = service.cancel_order(db, order_id=order_id, actor="anonymous",
                                 now=request.app.state.clock())
    return service.read_all(db, freed)


@router.get("/bookings", response_model=list[BookingRead])
def list_bookings(db: DbSession,
                  order: str | None = Query(None, description="bookings of this order"),
                  resource: str | None = Query(None, description="on this resource"),
                  factory: str | None = Query(None, description="on this factory's resources"),
                  park: str | None = Query(None, description="in this park's factories"),
                  status: BookingState | None = None,
                  limit: int = Query(1000, ge=1, le=10_000),
                  offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> list[BookingRead]:
    """Bookings matching every filter given; an unknown query parameter is a 422."""
    rows = service.get_all(db, order_id=order, resource_id=resource, factory_id=factory,
                           park_id=park, status=status.value if status else None,
                           limit=limit, offset=offset)
    return service.read_all(db, rows)


@router.get("/bookings/{booking_id}", response_model=BookingRead)
def get_booking(db: DbSession, booking_id: str) -> BookingRead:
    booking = service.get(db, booking_id=booking_id)
    if booking is None:
        raise NotFoundError("booking", booking_id)
    return service.read_all(db, [booking])[0]
