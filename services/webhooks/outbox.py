"""Queue an event for every active webhook of its customer, inside the event's transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.webhooks.models import DeliveryState, Webhook, WebhookDelivery


def enqueue(session: Session, *, event_id: int, customer: str) -> None:
    hooks = session.scalars(select(Webhook.id).where(Webhook.customer == customer,
                                                     Webhook.active.is_(True))).all()
    for hook_id in hooks:
        session.add(WebhookDelivery(webhook_id=hook_id, event_id=event_id,
                                    status=DeliveryState.PENDING.value))
    if hooks:
        session.flush()
