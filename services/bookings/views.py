"""/quotes/{id}/accept books a quote atomically; /bookings lists what is booked."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Query, Request
from fastapi import status as http

from services.audit import service as audit
from services.auth import scope
from services.auth.deps import CurrentPrincipal
from services.bookings import service
from services.bookings.dispatch import DispatcherDep
from services.bookings.models import BookingRead, BookingState
from services.core.db import DbSession
from services.core.errors import ConflictError, NotFoundError
from services.core.metrics import BOOKING_CONFLICTS, BOOKINGS
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
                                  ttl_s=state.settings.quote_ttl_s)
    except ConflictError:
        BOOKING_CONFLICTS.inc()
        raise
    audit.record_by(db, principal, action="quote.accepted", object_type="quote",
                    object_id=quote_id, owner_org=order.org_id,
                    after={"order": order.id, "total_cost": quote.total_cost,
                           "bookings": [b.model_dump(mode="json") for b in bookings]})
    db.commit()  # the work orders go out only for bookings that are really stored
    BOOKINGS.inc(len(bookings))
    try:
        dispatcher.dispatch(bookings)
    except Exception:  # the bookings stand; the gateway re-syncs from the API
        log.exception("dispatching work orders of quote %s failed", quote_id)
    return bookings


@router.post("/orders/{order_id}/cancel", response_model=list[BookingRead])
def cancel_order(db: DbSession, principal: CurrentPrincipal,
                 order_id: str) -> list[BookingRead]:
    """Cancel the order; answers the bookings whose time was given back."""
    order = get_owned(db, principal, order_id)
    before = order.status
    freed = service.read_all(db, service.cancel_order(db, order_id=order_id))
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
                  offset: int = Query(0, ge=0)) -> list[BookingRead]:
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
