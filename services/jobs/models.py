"""One row per quote request a matcher finished with: the exactly-once-in-effect record.

The row is inserted in the same transaction as the quotes it produced, keyed by the request
id, so a second solve of the same request (a worker that lost its lease, a redelivery after a
crash between commit and XACK) hits the primary key and stores nothing new.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base, UtcDateTime


class JobState(StrEnum):
    DONE = "done"  # quotes stored
    DEAD = "dead"  # given up; the reason says why (also on the dead-letter stream)


class QuoteJob(Base):
    __tablename__ = "quote_jobs"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"),
                                          index=True)
    status: Mapped[str] = mapped_column(String(16))
    consumer: Mapped[str] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    quote_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime)
