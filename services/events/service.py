"""Record an order event: the minimal stand-in until the append-only history lands.

The order-lifecycle branch owns this module (table, ``GET /orders/{id}/events``, SSE); this
version has its exact signature and only logs, so the plan side can emit its events now.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

log = logging.getLogger("sharefab.events")


def record(session: Session, *, order_id: str, kind: str, actor: str,
           details: dict[str, object]) -> None:
    """Append one event of ``order_id`` (inside the caller's transaction)."""
    del session  # the stored history comes with the order-lifecycle branch
    log.info("order %s: %s by %s %s", order_id, kind, actor, details,
             extra={"order_id": order_id, "kind": kind, "actor": actor, "details": details})
