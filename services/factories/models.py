"""Factories (共享工厂): ORM row; the wire form is the scenario's factory object (FactoryIn).

The scenario format: docs/formats.md#scenario.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field
from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.schemas import Id, Wire
from services.core.db import Base

if TYPE_CHECKING:
    from services.resources.models import Resource


class Factory(Base):
    __tablename__ = "factories"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Document order, so GET /scenario lists factories as they were imported.
    position: Mapped[int] = mapped_column(Integer, default=0, index=True)
    park_id: Mapped[str] = mapped_column(ForeignKey("parks.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    rating: Mapped[float] = mapped_column(Float, default=0.0)
    certifications: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The factory organisation that manages it (services.auth); None: the platform's alone.
    org_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    resources: Mapped[list[Resource]] = relationship(
        back_populates="factory", cascade="all, delete-orphan", order_by="Resource.position",
        passive_deletes=True,
    )


class FactoryUpdate(Wire):
    """Partial update of a factory's own fields; resources have their own endpoints."""

    name: Annotated[str, Field(max_length=200)] | None = None
    park: Id | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    rating: Annotated[float, Field(ge=0, le=5)] | None = None
    certifications: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = None
