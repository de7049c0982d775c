"""What the order's lifecycle and the factories' record learn from the shop floor.

Called from the progress path (``services.bookings.service.record_progress``); small on
purpose, so that path stays about bookings.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from services.bookings.models import Booking
from services.orders import lifecycle
from services.orders.models import Order, OrderState
from services.orders.transitions import transition
from services.ratings.credit import record_lot


def lot_finished(session: Session, *, booking: Booking, at: datetime | None) -> None:
    """A lot that just finished enters its factory's record (on time or late, scrap)."""
    record_lot(session, booking=booking, finished_at=at or datetime.now(UTC))


def advance(session: Session, *, order: Order, target: OrderState, actor: str,
            at: datetime | None) -> None:
    """Move a committed order to where its lots put it (in production, done)."""
    current = OrderState(order.status)
    # Lots imported with a scenario may name an order that was never accepted here: its
    # status is not the shop floor's to change.
    if current not in lifecycle.COMMITTED_STATES or target == current:
        return
    transition(session, order=order, to=target, actor=actor, at=at)
