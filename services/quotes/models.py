"""Quotes: priced alternatives (cheapest / fastest / balanced) for one order.

Each row keeps the order plan it offers (docs/formats.md#plan), so accepting it books exactly
what was shown.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.schemas import UtcDatetime
from services.core.db import Base, UtcDateTime
from services.orders.models import utcnow


class QuoteState(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"  # another quote of the same order was accepted
    EXPIRED = "expired"  # not accepted within quote_ttl_s (services.quotes.expiry)


class Quote(Base):
    __tablename__ = "quotes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=QuoteState.OFFERED.value)
    plan_status: Mapped[str] = mapped_column(String(16))  # planned | unmatched (formats.md#plan)
    total_cost: Mapped[float] = mapped_column(Float, default=0.0)
    completion: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lateness_min: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    cost_breakdown: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    solver: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class QuoteRead(BaseModel):
    """An offered alternative. Money in CNY; the figures add up (see ``cost_breakdown``)."""

    id: str
    order: str
    kind: str = Field(description="cheapest | fastest | balanced")
    status: QuoteState
    total_cost: float = Field(description="The price: processing + transport, in CNY; equals "
                                          "cost_breakdown.total")
    completion: UtcDatetime | None
    lateness_min: int = Field(description="Minutes the plan finishes after the order's due date")
    cost_breakdown: dict[str, float] = Field(description=(
        "processing + transport = total (= total_cost, what the buyer pays); tardiness_penalty "
        "is not charged: the scenario's tardiness weight x hours late, used to rank the "
        "alternatives; score = total + tardiness_penalty"))
    plan: dict[str, Any]  # the plan's order object (docs/formats.md#plan)
    created_at: UtcDatetime
