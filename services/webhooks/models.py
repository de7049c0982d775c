"""Webhooks a customer registers, and one delivery row per (webhook, event): the outbox.

A delivery is ``pending`` until the receiver answers 2xx (``delivered``) or the attempts run
out (``failed``); ``next_attempt_at`` spaces the retries out (exponential backoff).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AnyHttpUrl, BaseModel, Field
from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.schemas import UtcDatetime
from services.core.db import Base, UtcDateTime
from services.events.models import EventId
from services.orders.models import utcnow


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Webhook(Base):
    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Kept to sign with (HMAC needs the key itself); never answered back after registration.
    secret: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="one_delivery_per_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(String(500), default="")


class WebhookIn(BaseModel):
    """``POST /webhooks``: where to send a customer's order events and the shared secret."""

    url: AnyHttpUrl
    secret: str = Field(min_length=16, max_length=256)
    # The tenant whose events go there; the principal's org once accounts are wired.
    customer: str = Field(min_length=1, max_length=64)


class WebhookRead(BaseModel):
    id: str
    customer: str
    url: str
    active: bool
    created_at: UtcDatetime


class DeliveryRead(BaseModel):
    id: int
    webhook: str
    event: int
    status: DeliveryState
    attempts: int
    next_attempt_at: UtcDatetime
    last_error: str
