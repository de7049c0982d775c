"""Resources (machines, service lines) and their calendar of idle windows.

The wire form is the scenario's resource object (``ResourceIn``, docs/formats.md); the API
adds the owning factory and, on reads, the live state. A window row records its ``source`` (api,
mqtt, scenario, demo): whoever last replaced the resource's calendar.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import Field
from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.schemas import Id, PricingIn, ResourceIn, UtcDatetime, WindowIn, Wire
from services.core.db import Base, UtcDateTime

if TYPE_CHECKING:
    from services.factories.models import Factory


class Resource(Base):
    __tablename__ = "resources"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("speed > 0", name="speed_positive"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    factory_id: Mapped[str] = mapped_column(
        ForeignKey("factories.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    process: Mapped[str] = mapped_column(String(64), index=True)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    materials: Mapped[list[str]] = mapped_column(JSON, default=list)
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    setup_min: Mapped[int] = mapped_column(Integer, default=0)
    time_share_per_hour: Mapped[float | None] = mapped_column(Float, nullable=True)
    per_piece: Mapped[float | None] = mapped_column(Float, nullable=True)
    by_value_pct: Mapped[float | None] = mapped_column(Float, nullable=True)

    factory: Mapped[Factory] = relationship(back_populates="resources")
    windows: Mapped[list[ResourceWindow]] = relationship(
        back_populates="resource", cascade="all, delete-orphan",
        order_by="ResourceWindow.start", passive_deletes=True,
    )


class ResourceWindow(Base):
    """One idle interval [start, end) offered by a resource."""

    __tablename__ = "windows"
    __table_args__ = (
        CheckConstraint('"end" > start', name="end_after_start"),
        Index("ix_windows_resource_start", "resource_id", "start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    end: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(String(16), default="api")

    resource: Mapped[Resource] = relationship(back_populates="windows")


class ResourceCreate(ResourceIn):
    """A scenario resource (docs/formats.md) plus the factory that owns it."""

    factory: Id


class ResourceUpdate(Wire):
    """Partial update; ``windows`` given replaces the whole calendar (source ``api``);
    ``pricing`` merges: only the modes given change, an explicit null withdraws one."""

    process: str | None = None
    capacity: Annotated[int, Field(ge=1, le=1000)] | None = None
    materials: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = None
    speed: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] | None = None
    setup_min: Annotated[int, Field(ge=0, le=7 * 24 * 60)] | None = None
    pricing: PricingIn | None = Field(None, description=(
        "merged into the stored pricing: only the modes given change, null withdraws one"))
    windows: Annotated[list[WindowIn], Field(max_length=10_000)] | None = None


class LiveRead(Wire):
    status: str
    utilization: float | None
    last_seen: UtcDatetime


class ResourceRead(ResourceCreate):
    live: LiveRead | None = None
