"""Delivering queued webhook events: signed POSTs, retried with exponential backoff.

A worker claims due deliveries in a short transaction (pushing ``next_attempt_at`` a lease
ahead, SKIP LOCKED on PostgreSQL, so several workers never send one twice at once), sends them
with no transaction open, then stores the outcome. A receiver may still see a delivery twice
(a crash between its 2xx and our commit): the ``Idempotency-Key`` header (the event id) is
how it drops the copy.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.core.db import session_scope
from services.events.models import OrderEvent
from services.events.service import to_wire
from services.webhooks import egress, signing
from services.webhooks.models import DeliveryState, Webhook, WebhookDelivery

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempt n (1-based) that fails waits ``base_s * 2 ** (n - 1)``, at most ``max_s``."""

    max_attempts: int = 8
    base_s: float = 2.0
    max_s: float = 3600.0
    timeout_s: float = 5.0
    lease_s: float = 60.0

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.max_s, self.base_s * 2 ** (attempts - 1)))


@dataclass(frozen=True, slots=True)
class _Claimed:
    delivery_id: int
    url: str
    secret: str
    event_id: int
    kind: str
    body: bytes


def _claim(session: Session, now: datetime, batch: int, policy: RetryPolicy) -> list[_Claimed]:
    query = (select(WebhookDelivery)
             .where(WebhookDelivery.status == DeliveryState.PENDING.value,
                    WebhookDelivery.next_attempt_at <= now)
             .order_by(WebhookDelivery.id).limit(batch)
             .with_for_update(skip_locked=True))
    claimed = []
    for d in session.scalars(query).all():
        hook = session.get(Webhook, d.webhook_id)
        event = session.get(OrderEvent, d.event_id)
        if hook is None or event is None or not hook.active:
            d.status, d.last_error = DeliveryState.FAILED.value, "webhook or event gone"
            continue
        d.next_attempt_at = now + timedelta(seconds=policy.lease_s)
        body = json.dumps(to_wire(event), separators=(",", ":"), sort_keys=True).encode()
        claimed.append(_Claimed(d.id, hook.url, hook.secret, event.id, event.kind, body))
    return claimed


def post(c: _Claimed, now: datetime, timeout_s: float, *,
         allow_private: bool = False) -> str | None:
    """Send one delivery; None on a 2xx answer, else what went wrong.

    The connection goes only to a public address checked as it connects (``egress``): a
    name that resolved to a public address at registration and to an internal one now is
    refused, not followed.
    """
    ts = int(now.timestamp())
    headers = {
        "Content-Type": "application/json", "User-Agent": "ShareFab-Webhooks/1",
        signing.SIGNATURE_HEADER: signing.sign(c.secret, ts, c.body),
        signing.TIMESTAMP_HEADER: str(ts), signing.EVENT_ID_HEADER: str(c.event_id),
        signing.EVENT_TYPE_HEADER: c.kind, signing.IDEMPOTENCY_HEADER: str(c.event_id),
    }
    request = urllib.request.Request(c.url, data=c.body, headers=headers, method="POST")
    try:
        # http(s) only: WebhookIn validates the scheme.
        with egress.opener(allow_private=allow_private).open(request,
                                                              timeout=timeout_s) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except egress.TargetRefusedError as exc:
        return f"refused: {exc}"[:500]
    except (OSError, ValueError) as exc:  # refused, timed out, DNS, bad URL
        return f"{type(exc).__name__}: {exc}"[:500]
    return None if 200 <= status < 300 else f"HTTP {status}"


def _settle(session: Session, c: _Claimed, error: str | None, now: datetime,
            policy: RetryPolicy) -> None:
    d = session.get(WebhookDelivery, c.delivery_id)
    if d is None:  # pragma: no cover - the webhook was deleted meanwhile
        return
    d.attempts += 1
    if error is None:
        d.status, d.last_error = DeliveryState.DELIVERED.value, ""
    elif d.attempts >= policy.max_attempts:
        d.status, d.last_error = DeliveryState.FAILED.value, error
    else:
        d.next_attempt_at, d.last_error = now + policy.backoff(d.attempts), error


def deliver_due(session_factory: sessionmaker[Session], *, policy: RetryPolicy,
                clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                batch: int = 50, allow_private: bool = False) -> int:
    """Send the deliveries due now; answers how many were attempted.

    ``allow_private`` (setting ``webhook_allow_private``) lets deliveries reach internal
    addresses: tests and demos whose receiver is on this machine.
    """
    with session_scope(session_factory) as session:
        claimed = _claim(session, clock(), batch, policy)
    for c in claimed:
        error = post(c, clock(), policy.timeout_s, allow_private=allow_private)
        if error is not None:
            log.info("webhook delivery %s of event %s failed: %s", c.delivery_id, c.event_id,
                     error)
        with session_scope(session_factory) as session:
            _settle(session, c, error, clock(), policy)
    return len(claimed)

