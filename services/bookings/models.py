"""Bookings: time sold on a resource (one lot of one step), with progress from the gateway.

No double booking: PostgreSQL enforces it for capacity-1 resources with an exclusion
constraint (migration 0001); the service checks inside the transaction on every backend, which
is also how capacity > 1 service lines are kept to at most ``capacity`` lots side by side.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Protocol

from pydantic import BaseModel, Field
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


class WorkOrderState(StrEnum):
    """The factory's answer to the work order of a booking."""

    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"


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
    work_order: Mapped[str] = mapped_column(String(16), default=WorkOrderState.SENT.value,
                                            server_default=WorkOrderState.SENT.value)
    work_order_note: Mapped[str | None] = mapped_column(String(500), nullable=True)
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
    # Extension: the factory's answer (sent until it accepts or declines).
    work_order_status: WorkOrderState = WorkOrderState.SENT
    # Extension, in work orders only: good input pieces delivered to this lot so far (None:
    # its input is on hand). Set by services.flows.shopfloor.with_inputs.
    input_ready: int | None = None
    # Extension (issue 10): what the factory needs to make its step, read from the order: the
    # material and the step's process and times. Never the order's value, its other steps or
    # other factories' lots (services.bookings.service.read_all fills only these).
    material: str | None = None
    process: str | None = None
    minutes_per_piece: float | None = None
    setup_min: int | None = None
    # Extension, in work orders only: when those pieces are at the lot's factory.
    input_at: UtcDatetime | None = None

    @property
    def cancelled(self) -> bool:
        """In work orders: the lot was withdrawn (re-planned elsewhere)."""
        return self.status is BookingState.CANCELLED


class ProgressIn(BaseModel):
    """Cumulative pieces of a lot, as a gateway or a factory without one reports them."""

    done: Annotated[int, Field(ge=0, le=10_000_000)]
    scrap: Annotated[int, Field(ge=0, le=10_000_000)] = 0


class DeclineIn(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class RepairRead(BaseModel):
    """What a repair did: the lots released, the new ones booked, the new finish and why."""

    order: str | None
    cause: str
    released: list[str]
    booked: list[BookingRead]
    planned: bool
    reason: str | None = None
    finish: UtcDatetime | None = None
    late_by_min: int = 0

    @classmethod
    def of(cls, result: RepairOutcome | None, *, booking_id: str) -> RepairRead:
        if result is None:
            return cls(order=None, cause=f"booking {booking_id} has no order", released=[],
                       booked=[], planned=True)
        return cls(order=result.order_id, cause=result.cause, released=result.released,
                   booked=result.booked, planned=result.planned, reason=result.reason,
                   finish=result.finish, late_by_min=result.late_by_min)


class RepairOutcome(Protocol):
    """The fields of ``services.flows.repair.RepairResult`` a ``RepairRead`` shows."""

    order_id: str
    cause: str
    released: list[str]
    booked: list[BookingRead]
    planned: bool
    reason: str | None
    finish: datetime | None
    late_by_min: int
