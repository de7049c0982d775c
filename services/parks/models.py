"""Industrial parks (园区): the unit a park operator watches. ORM row and wire schemas."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from domain.schemas import Id, Wire
from services.core.db import Base


class Park(Base):
    __tablename__ = "parks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    # The park organisation operating it (one may operate several parks); None: the platform.
    operator_org_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


Name = Annotated[str, Field(max_length=200)]


class ParkBase(Wire):
    name: Name = ""
    city: Annotated[str, Field(max_length=100)] = ""


class ParkCreate(ParkBase):
    id: Id
    # The operating park organisation; the platform names it, a park organisation is itself.
    operator: Id | None = None


class ParkUpdate(Wire):
    name: Name | None = None
    city: Annotated[str, Field(max_length=100)] | None = None
    operator: Id | None = None  # the platform (re)assigns the operating park organisation


class ParkRead(ParkCreate):
    factories: int = 0
