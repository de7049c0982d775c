"""/quotes/{id}/accept books a quote atomically; /bookings lists what is booked."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Query, Request
from fastapi import status as http

from services.bookings import history, service
from services.bookings.dispatch import DispatcherDep
from services.bookings.models import BookingRead, BookingState
from services.core.db import DbSession
from services.core.errors import ConflictError, NotFoundError
from services.core.metrics import BOOKING_CONFLICTS, BOOKINGS

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
                                  ttl_s=state.settings.quote_ttl_s, actor="anonymous")
    except ConflictError:
        BOOKING_CONFLICTS.inc()
        raise
    db.commit()  # the work orders go out only for bookings that are really stored
    BOOKINGS.inc(len(bookings))
    try:
        sent = dispatcher.dispatch(bookings)
    except Exception:  # the bookings stand; the gateway re-syncs from the API
        log.exception("dispatching work orders of quote %s failed", quote_id)
    else:
        # NullDispatcher (no MQTT) sends nothing: no work_order_sent event then.
        if not isinstance(sent, list) or sent:
            history.work_orders_sent(db, bookings=bookings, at=state.clock())
    return bookings


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
                  offset: int = Query(0, ge=0)) -> list[BookingRead]:
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
