"""/webhooks: customers who integrate register a URL and a secret for their order events."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi import status as http

from services.core.db import DbSession
from services.core.errors import NotFoundError
from services.webhooks import service
from services.webhooks.models import DeliveryRead, WebhookIn, WebhookRead

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("", response_model=WebhookRead, status_code=http.HTTP_201_CREATED)
def create_webhook(db: DbSession, webhook_in: WebhookIn) -> WebhookRead:
    """Deliveries are POSTs signed ``X-ShareFab-Signature: sha256=HMAC(secret, ts.body)``."""
    return service.to_read(service.create(db, webhook_in=webhook_in, actor="anonymous"))


@router.get("", response_model=list[WebhookRead])
def list_webhooks(db: DbSession, customer: str | None = None) -> list[WebhookRead]:
    return [service.to_read(h) for h in service.get_all(db, customer=customer)]


@router.delete("/{webhook_id}", status_code=http.HTTP_204_NO_CONTENT)
def delete_webhook(db: DbSession, webhook_id: str) -> None:
    service.delete(db, webhook_id=webhook_id)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryRead])
def list_deliveries(db: DbSession, webhook_id: str,
                    limit: int = Query(1000, ge=1, le=10_000)) -> list[DeliveryRead]:
    if service.get(db, webhook_id=webhook_id) is None:
        raise NotFoundError("webhook", webhook_id)
    return [service.delivery_read(d) for d in service.deliveries(db, webhook_id=webhook_id,
                                                                  limit=limit)]
