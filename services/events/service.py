"""Recording and reading order events; every status change and shop-floor fact goes through
``record``, in the caller's transaction, so an event exists exactly when its change does.

Recording also queues the event for the customer's webhooks (an outbox in the same
transaction: a committed event is never lost to a crash before delivery). Its log line is
written once the transaction commits, and never for a rolled-back one: a transaction retried
after a conflict (the ingest's) leaves one line per event, like the table.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.db import page
from services.events.models import EventRead, OrderEvent
from services.orders.models import Order
from services.webhooks import outbox

log = logging.getLogger("sharefab.events")

_PENDING_LOGS = "sharefab.events.pending_logs"  # key in Session.info


def record(session: Session, *, order_id: str, kind: str, actor: str,
           details: dict[str, object], at: datetime | None = None) -> None:
    """Append one event to ``order_id``'s history (``at``: the caller's clock, else now)."""
    order = session.get(Order, order_id)
    customer = (order.org_id or order.customer) if order is not None else ""  # the tenant
    event = OrderEvent(order_id=order_id, customer=customer, kind=kind, actor=actor,
                       at=at or datetime.now(UTC), details=dict(details))
    session.add(event)
    session.flush()  # the id is the webhook's idempotency key
    outbox.enqueue(session, event_id=event.id, customer=customer)
    # Also a log line, after the commit (``_write_logs``).
    session.info.setdefault(_PENDING_LOGS, []).append(
        {"order_id": order_id, "kind": kind, "actor": actor, "details": dict(details)})


def _write_logs(session: Session) -> None:
    """The outermost transaction committed: log its events (a savepoint released is not
    the end of the transaction)."""
    if session.in_nested_transaction():
        return
    for e in session.info.pop(_PENDING_LOGS, ()):
        log.info("order %s: %s by %s %s", e["order_id"], e["kind"], e["actor"], e["details"],
                 extra=e)


def _drop_logs(session: Session, *_: Any) -> None:
    """Rolled back: its events never happened. (A savepoint rolled back keeps the lines of
    its events; nothing records events inside one.)"""
    if session.in_nested_transaction():
        return
    session.info.pop(_PENDING_LOGS, None)


def _install() -> None:
    if not orm_event.contains(Session, "after_commit", _write_logs):
        orm_event.listen(Session, "after_commit", _write_logs)
        orm_event.listen(Session, "after_rollback", _drop_logs)


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


_install()
