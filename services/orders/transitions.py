"""Moving an order along its lifecycle, with the event that says so: one place for both.

Views, services, the match worker and the ingest all move an order with ``transition``; the state
machine itself (what may follow what) is ``services.orders.lifecycle``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from services.events import service as events
from services.orders import lifecycle
from services.orders.models import Order, OrderState

# The event each status is entered with.
ENTERED = {
    OrderState.QUOTED: "quoted", OrderState.ACCEPTED: "accepted",
    # Not "started" / "completed": those are a lot's (services.bookings.service).
    OrderState.IN_PRODUCTION: "in_production", OrderState.DONE: "done",
    OrderState.CANCELLED: "cancelled", OrderState.EXPIRED: "expired",
    OrderState.FAILED: "failed",
}


def transition(session: Session, *, order: Order, to: OrderState, actor: str = "system",
               details: dict[str, object] | None = None, at: datetime | None = None) -> None:
    """Move ``order`` to ``to`` (through in_production when progress jumps), recording each
    step; IllegalTransitionError (409, naming both ends) when the lifecycle forbids it."""
    current = OrderState(order.status)
    steps = lifecycle.path_to(current, to)
    for step in steps:
        lifecycle.check(order.id, current, step)
        order.status = step.value
        events.record(session, order_id=order.id, kind=ENTERED[step], actor=actor,
                      details={"from": current.value, "to": step.value, **(details or {})},
                      at=at)
        current = step
    session.flush()
