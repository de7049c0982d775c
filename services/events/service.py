"""Recording and reading order events; every status change and shop-floor fact goes through
``record``, in the caller's transaction, so an event exists exactly when its change does.

Recording also queues the event for the customer's webhooks (an outbox in the same
transaction: a committed event is never lost to a crash before delivery).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db import page
from services.events.models import EventRead, OrderEvent
from services.orders.models import Order
from services.webhooks import outbox

log = logging.getLogger("sharefab.events")


def record(session: Session, *, order_id: str, kind: str, actor: str,
           details: dict[str, object], at: datetime | None = None) -> None:
    """Append one event to ``order_id``'s history (``at``: the caller's clock, else now)."""
    order = session.get(Order, order_id)
    customer = order.customer if order is not None else ""
    event = OrderEvent(order_id=order_id, customer=customer, kind=kind, actor=actor,
                       at=at or datetime.now(UTC), details=dict(details))
    session.add(event)
    session.flush()  # the id is the webhook's idempotency key
    outbox.enqueue(session, event_id=event.id, customer=customer)
    # Also a log line (stays in the logs even when the transaction rolls back: a debugging
    # aid, the table is the record).
    log.info("order %s: %s by %s %s", order_id, kind, actor, details,
             extra={"order_id": order_id, "kind": kind, "actor": actor, "details": details})


def get_all(session: Session, *, order_id: str | None = None, customer: str | None = None,
            after: int = 0, limit: int | None = None, offset: int = 0) -> Sequence[OrderEvent]:
    """Events in the order they happened (by id), optionally after a cursor."""
    query = select(OrderEvent).where(OrderEvent.id > after)
    if order_id is not None:
        query = query.where(OrderEvent.order_id == order_id)
    if customer is not None:
        query = query.where(OrderEvent.customer == customer)
    query = page(query.order_by(OrderEvent.id), limit=limit, offset=offset)
    return session.scalars(query).all()


def to_read(e: OrderEvent) -> EventRead:
    return EventRead(id=e.id, order=e.order_id, type=e.kind, time=e.at, actor=e.actor,
                     details=e.details)


def to_wire(e: OrderEvent) -> dict[str, object]:
    """The JSON body of a stream message and a webhook delivery."""
    return to_read(e).model_dump(mode="json")
