"""Orders (订单) and their routing steps; the wire form is the scenario's order
(docs/formats.md#scenario, OrderIn).

Status flow (``services.orders.lifecycle``): new -> quoted -> accepted -> in_production -> done,
or cancelled, expired (its quotes lapsed unaccepted), failed (production cannot finish).
``quoted`` means at least one offer exists; accepting one books it. The names before the
lifecycle, ``booked`` and ``in_progress``, still read as ``accepted`` and ``in_production``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.schemas import OrderIn, UtcDatetime
from services.core.db import Base, UtcDateTime


class OrderState(StrEnum):
    NEW = "new"
    QUOTED = "quoted"
    ACCEPTED = "accepted"
    IN_PRODUCTION = "in_production"
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"
    # The names before the lifecycle, kept as aliases so code written against them still runs.
    BOOKED = "accepted"
    IN_PROGRESS = "in_production"

    @classmethod
    def _missing_(cls, value: object) -> OrderState | None:
        """Old stored or client values (``booked``, ``in_progress``) read as their new state."""
        return cls.__members__.get(str(value).upper()) if value in LEGACY_NAMES else None


# Status values clients used before the lifecycle; filters still accept them.
LEGACY_NAMES = {"booked": "accepted", "in_progress": "in_production"}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0, index=True)
    customer: Mapped[str] = mapped_column(String(64), index=True)
    material: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    due: Mapped[datetime] = mapped_column(UtcDateTime)
    value: Mapped[float] = mapped_column(Float, default=0.0)
    pricing: Mapped[str] = mapped_column(String(16), default="cheapest")
    max_factories: Mapped[int] = mapped_column(Integer, default=3)
    min_lot: Mapped[int] = mapped_column(Integer, default=1)
    certifications: Mapped[list[str]] = mapped_column(JSON, default=list)
    parks: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_credit: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=OrderState.NEW.value, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # The SME organisation that posted it (services.auth); None: entered by the platform.
    org_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    steps: Mapped[list[OrderStep]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderStep.position",
        passive_deletes=True,
    )


class OrderStep(Base):
    __tablename__ = "order_steps"

    order_id: Mapped[str] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    process: Mapped[str] = mapped_column(String(64))
    minutes_per_piece: Mapped[float] = mapped_column(Float)
    setup_min: Mapped[int] = mapped_column(Integer, default=0)
    after: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Extensions (docs/formats.md#scenario): resource id -> its own minutes per piece, and the
    # resources the step may run on (empty: any capable one). Migration 0014_step_extensions.
    minutes_per_piece_on: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    only_on: Mapped[list[str]] = mapped_column(JSON, default=list)

    order: Mapped[Order] = relationship(back_populates="steps")


class OrderRead(OrderIn):
    """A scenario order (docs/formats.md) plus where it stands."""

    status: OrderState
    created_at: UtcDatetime
