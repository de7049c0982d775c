"""The market's scenario-level facts (docs/formats.md#scenario): horizon start, transport and
objective.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base, UtcDateTime


class MarketFacts(Base):
    """A single row (id 1): what the last scenario import said beyond factories and orders."""

    __tablename__ = "market"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    horizon_start: Mapped[datetime] = mapped_column(UtcDateTime)
    transport: Mapped[dict[str, Any]] = mapped_column(JSON)
    objective: Mapped[dict[str, Any]] = mapped_column(JSON)
