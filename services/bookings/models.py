"""Bookings: time sold on a resource (one lot of one step), with progress from the gateway.

No double booking: PostgreSQL enforces it for capacity-1 resources with an exclusion
constraint (migration 0001); the service checks inside the transaction on every backend, which
is also how capacity > 1 service lines are kept to at most ``capacity`` lots side by side.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from domain.schemas import UtcDatetime
from services.core.db import Base, UtcDateTime
from services.orders.models import utcnow


class BookingState(StrEnum):
    BOOKED = "booked"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


# A booking in one of these states holds its time on the resource.
ACTIVE_STATES = (BookingState.BOOKED.value, BookingState.RUNNING.value, BookingState.DONE.value)


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint('"end" > start', name="end_after_start"),
        CheckConstraint("done >= 0 AND scrap >= 0", name="progress_nonnegative"),
        Index("ix_bookings_resource_start", "resource_id", "start"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id", ondelete="RESTRICT"))
    # Plain strings, not foreign keys: a scenario may carry bookings of orders held elsewhere.
    order_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    step_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quote_id: Mapped[str | None] = mapped_column(
        ForeignKey("quotes.id", ondelete="SET NULL"), nullable=True, index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    end: Mapped[datetime] = mapped_column(UtcDateTime)
    pricing: Mapped[str | None] = mapped_column(String(16), nullable=True)
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    done: Mapped[int] = mapped_column(Integer, default=0)
    scrap: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=BookingState.BOOKED.value)
    # True when the resource had capacity 1 at booking time: the PostgreSQL exclusion
    # constraint covers exactly these rows.
    exclusive: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(16), default="quote")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BookingRead(BaseModel):
    """A booking as the API and the dispatcher hook see it (with its park and factory)."""

    id: str
    park: str
    factory: str
    resource: str
    order: str | None
    step: str | None
    quote: str | None
    quantity: int
    start: UtcDatetime
    end: UtcDatetime
    pricing: str | None
    cost: float | None
    done: int
    scrap: int
    status: BookingState



class ProgressIn(BaseModel):
    done: int
    scrap: int = 0
