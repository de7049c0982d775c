"""/webhooks: customers who integrate register a URL and a secret for their order events."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi import status as http

from services.audit import service as audit
from services.auth import scope
from services.auth.deps import CurrentPrincipal
from services.core.db import DbSession
from services.core.errors import InvalidError, NotFoundError
from services.webhooks import service
from services.webhooks.models import DeliveryRead, Webhook, WebhookIn, WebhookRead

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("", response_model=WebhookRead, status_code=http.HTTP_201_CREATED)
def create_webhook(request: Request, db: DbSession, principal: CurrentPrincipal,
                   webhook_in: WebhookIn) -> WebhookRead:
    """Deliveries are POSTs signed ``X-ShareFab-Signature: sha256=HMAC(secret, ts.body)``.

    The events are the caller's organisation's; the platform names the tenant in ``customer``.
    The URL's host must resolve to public addresses only (422 otherwise), unless the
    ``webhook_allow_private`` setting allows internal ones.
    """
    customer = scope.tenant_of(principal) or webhook_in.customer
    if customer is None:
        raise InvalidError("body.customer", "the platform names the tenant of the webhook")
    allow = request.app.state.settings.webhook_allow_private
    hook = service.create(db, webhook_in=webhook_in, customer=customer, actor=principal.actor,
                          allow_private=allow)
    audit.record_by(db, principal, action="webhook.created", object_type="webhook",
                    object_id=hook.id, owner_org=customer, after={"url": hook.url})
    return service.to_read(hook)


@router.get("", response_model=list[WebhookRead])
def list_webhooks(db: DbSession, principal: CurrentPrincipal,
                  customer: str | None = None) -> list[WebhookRead]:
    """The caller's webhooks (the platform: all, or one tenant's with ``customer``)."""
    tenant = scope.tenant_of(principal) or customer
    return [service.to_read(h) for h in service.get_all(db, customer=tenant)]


@router.delete("/{webhook_id}", status_code=http.HTTP_204_NO_CONTENT)
def delete_webhook(db: DbSession, principal: CurrentPrincipal, webhook_id: str) -> None:
    hook = _own_webhook(db, principal, webhook_id)
    service.delete(db, webhook_id=webhook_id)
    audit.record_by(db, principal, action="webhook.deleted", object_type="webhook",
                    object_id=webhook_id, owner_org=hook.customer, before={"url": hook.url})


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryRead])
def list_deliveries(db: DbSession, principal: CurrentPrincipal, webhook_id: str,
                    limit: int = Query(1000, ge=1, le=10_000)) -> list[DeliveryRead]:
    _own_webhook(db, principal, webhook_id)
    return [service.delivery_read(d) for d in service.deliveries(db, webhook_id=webhook_id,
                                                                  limit=limit)]


def _own_webhook(db: DbSession, principal: CurrentPrincipal, webhook_id: str) -> Webhook:
    """The webhook if it is the caller's organisation's, else 404 (whether or not it exists)."""
    hook = service.get(db, webhook_id=webhook_id)
    tenant = scope.tenant_of(principal)
    if hook is None or (tenant is not None and hook.customer != tenant):
        raise NotFoundError("webhook", webhook_id)
    return hook
