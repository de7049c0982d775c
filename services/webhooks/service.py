"""Registering webhooks and reading their deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.errors import InvalidError, NotFoundError
from services.webhooks import egress
from services.webhooks.models import (
    DeliveryRead,
    DeliveryState,
    Webhook,
    WebhookDelivery,
    WebhookIn,
    WebhookRead,
)


def get(session: Session, *, webhook_id: str) -> Webhook | None:
    return session.get(Webhook, webhook_id)


def get_all(session: Session, *, customer: str | None = None) -> Sequence[Webhook]:
    query = select(Webhook).order_by(Webhook.created_at, Webhook.id)
    if customer is not None:
        query = query.where(Webhook.customer == customer)
    return session.scalars(query).all()


def create(session: Session, *, webhook_in: WebhookIn, customer: str,
           actor: str = "system", allow_private: bool = False) -> Webhook:
    """Register a receiver; it gets ``customer``'s (the tenant's) events recorded from now on.

    A URL whose host is or resolves to an internal address is refused (``egress``) unless
    ``allow_private``; deliveries check again as they connect.
    """
    del actor  # the view records it in the audit trail
    try:
        egress.check_url(str(webhook_in.url), allow_private=allow_private)
    except egress.TargetRefusedError as exc:
        raise InvalidError("body.url", str(exc)) from exc
    hook = Webhook(id=f"WH-{uuid.uuid4().hex[:12]}", customer=customer,
                   url=str(webhook_in.url), secret=webhook_in.secret, active=True)
    session.add(hook)
    session.flush()
    return hook


def delete(session: Session, *, webhook_id: str) -> None:
    """Stop delivering: the hook is deactivated, pending deliveries fail, history stays."""
    hook = session.get(Webhook, webhook_id)
    if hook is None:
        raise NotFoundError("webhook", webhook_id)
    hook.active = False
    for d in session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.webhook_id == webhook_id,
            WebhookDelivery.status == DeliveryState.PENDING.value)):
        d.status, d.last_error = DeliveryState.FAILED.value, "webhook deleted"
    session.flush()


def deliveries(session: Session, *, webhook_id: str,
               limit: int = 1000) -> Sequence[WebhookDelivery]:
    return session.scalars(select(WebhookDelivery)
                           .where(WebhookDelivery.webhook_id == webhook_id)
                           .order_by(WebhookDelivery.id).limit(limit)).all()


def to_read(h: Webhook) -> WebhookRead:
    return WebhookRead(id=h.id, customer=h.customer, url=h.url, active=h.active,
                       created_at=h.created_at)


def delivery_read(d: WebhookDelivery) -> DeliveryRead:
    return DeliveryRead(id=d.id, webhook=d.webhook_id, event=d.event_id,
                        status=DeliveryState(d.status), attempts=d.attempts,
                        next_attempt_at=d.next_attempt_at, last_error=d.last_error)
