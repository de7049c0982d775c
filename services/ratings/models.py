"""Two-sided ratings after completion (用户双向评价) and the lot record credit is built from.

``LotRecord``: one row per finished booking (when it finished against its booked end, how
many pieces were scrapped), written where progress is applied: the platform's own facts.
``Rating``: the customer rates each factory that worked on the order, the factory rates the
customer; once per (order, rater side, factory).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field
from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.schemas import UtcDatetime
from services.core.db import Base, UtcDateTime
from services.orders.models import utcnow

Score = Annotated[int, Field(ge=1, le=5)]


class LotRecord(Base):
    __tablename__ = "lot_records"

    booking_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    factory_id: Mapped[str] = mapped_column(String(64), index=True)
    resource_id: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quantity: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)
    scrap: Mapped[int] = mapped_column(Integer)
    booked_end: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime)
    late_min: Mapped[int] = mapped_column(Integer)  # 0 when on time or early


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("order_id", "side", "factory_id", name="once_per_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    # "customer": the customer rates factory_id; "factory": factory_id rates the customer.
    side: Mapped[str] = mapped_column(String(16))
    factory_id: Mapped[str] = mapped_column(String(64), index=True)
    customer: Mapped[str] = mapped_column(String(64), index=True)
    scores: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(String(2000), default="")
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CustomerRatesFactory(BaseModel):
    side: Literal["customer"] = "customer"
    factory: str = Field(min_length=1, max_length=64)
    quality: Score
    on_time: Score
    communication: Score
    comment: str = Field("", max_length=2000)


class FactoryRatesCustomer(BaseModel):
    side: Literal["factory"]
    factory: str = Field(min_length=1, max_length=64)
    clear_spec: Score
    payment: Score
    comment: str = Field("", max_length=2000)


class RatingRead(BaseModel):
    id: int
    order: str
    side: str
    factory: str
    customer: str
    scores: dict[str, int]
    comment: str
    actor: str
    created_at: UtcDatetime


class CreditRead(BaseModel):
    """A factory's credit score and the evidence it rests on."""

    factory: str
    score: float
    on_time_share: float
    scrap_rate: float
    rating: float
    evidence: dict[str, float]
    priors: dict[str, float]
    self_declared_rating: float
