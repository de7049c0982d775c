"""Audit events: who (actor, their organisation) did what (action) to which object, when, with
the object before and after as JSON.

Append-only: the code has no update or delete path, and migration 0002 adds triggers that make
the database refuse UPDATE and DELETE on the table (PostgreSQL and SQLite). Object ids are plain
strings, not foreign keys, so deleting an order keeps its history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.schemas import UtcDatetime
from services.core.db import Base, UtcDateTime
from services.orders.models import utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(300))
    # The caller's organisation, and the organisation owning the object (both see the event).
    actor_org_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    owner_org_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class AuditRead(BaseModel):
    id: int
    at: UtcDatetime
    actor: str
    actor_org: str | None
    owner_org: str | None
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
