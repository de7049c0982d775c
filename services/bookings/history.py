"""What the order's history and the factories' record learn from the shop floor.

Called from the progress path (``services.bookings.service.record_progress``) and after work
orders went out (the accept view); small on purpose, so those paths stay about bookings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from services.bookings.models import Booking, BookingRead, BookingState
from services.events import service as events
from services.orders import lifecycle
from services.orders.models import Order, OrderState
from services.orders.transitions import transition
from services.ratings.credit import record_lot


def progress_recorded(session: Session, *, booking: Booking, actor: str,
                      at: datetime | None) -> None:
    """A ``progress`` event for the lot; a finished lot also enters its factory's record."""
    now = at or datetime.now(UTC)
    finished = booking.status == BookingState.DONE.value
    if booking.order_id is not None:
        events.record(session, order_id=booking.order_id, kind="progress", actor=actor, at=now,
                      details={"booking": booking.id, "step": booking.step_id,
                               "resource": booking.resource_id, "quantity": booking.quantity,
                               "done": booking.done, "scrap": booking.scrap,
                               "finished": finished})
    if finished:
        record_lot(session, booking=booking, finished_at=now)


def advance(session: Session, *, order: Order, booking_statuses: set[str], actor: str,
            at: datetime | None) -> None:
    """Move a committed order to where its lots are (in production, done)."""
    target = lifecycle.from_bookings(booking_statuses)
    current = OrderState(order.status)
    # Lots imported with a scenario may name an order that was never accepted here: its
    # status is not the shop floor's to change.
    if target is None or current not in lifecycle.COMMITTED_STATES or target == current:
        return
    transition(session, order=order, to=target, actor=actor, at=at)


def work_orders_sent(session: Session, *, bookings: Sequence[BookingRead],
                     at: datetime | None = None) -> None:
    """One ``work_order_sent`` event per lot handed to its factory's gateway."""
    for b in bookings:
        if b.order is None:
            continue
        events.record(session, order_id=b.order, kind="work_order_sent", actor="platform",
                      at=at, details={"booking": b.id, "factory": b.factory,
                                      "resource": b.resource, "step": b.step,
                                      "quantity": b.quantity, "start": b.start.isoformat(),
                                      "end": b.end.isoformat()})
