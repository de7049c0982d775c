"""Order events: the append-only history of what happened to an order, and who did it.

Rows are only ever inserted (``services.events.service.record``); the integer id orders them
and serves as the cursor of the live stream and the idempotency key of webhook deliveries.
``customer`` is copied from the order so a tenant's stream is one indexed query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.schemas import UtcDatetime
from services.core.db import Base, UtcDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class EventKind:
    """Kinds recorded by the platform; others (e.g. lifecycle-plan's) may add their own."""

    CREATED = "created"
    QUOTED = "quoted"
    ACCEPTED = "accepted"
    WORK_ORDER_SENT = "work_order_sent"
    STARTED = "started"
    PROGRESS = "progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"
    RATED = "rated"


class OrderEvent(Base):
    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    # No foreign key: the history outlives a deleted order (and is what explains it).
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    customer: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EventRead(BaseModel):
    """One entry of ``GET /orders/{id}/events`` (type, time, actor, details)."""

    id: int
    order: str
    type: str
    time: UtcDatetime
    actor: str
    details: dict[str, Any]
