"""A simulation run: the config it ran, its progress, its KPIs and its HTML report.

The config is the YAML document of ``simulations/config.py`` as JSON (the shipped example
unless the analyst sends another), with its seeds, policies and days chosen on the page.
Runs are synthetic markets: nothing in them names a tenant, and what is stored and answered is
aggregates only (KPIs per policy and seed, the report).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.core.db import Base, UtcDateTime

POLICIES = ("cpsat", "greedy", "single")
# Limits on what one run may ask for: a launched run holds a worker for its whole length.
MAX_CONFIG_BYTES = 64_000
MAX_SEEDS = 5
MAX_DAYS = 14.0
MAX_FACTORIES = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class SimulationRun(Base):
    __tablename__ = "simulation_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=RunState.QUEUED.value, index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    policies: Mapped[list[str]] = mapped_column(JSON)
    seeds: Mapped[list[int]] = mapped_column(JSON)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    note: Mapped[str] = mapped_column(String(500), default="")
    kpis: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    report_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class SimulationCreate(BaseModel):
    """What the analyst launches: a config (default: the shipped example) and the knobs the
    page edits. ``days`` overrides the config's days."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(max_length=200)] = ""
    config: dict[str, Any] | None = Field(
        None, description="a simulations config (simulations/examples/market.yaml as JSON); "
                          "default: that example")
    policies: Annotated[list[str], Field(min_length=1, max_length=len(POLICIES))] = ["greedy"]
    seeds: Annotated[list[Annotated[int, Field(ge=0, le=2**31 - 1)]],
                     Field(min_length=1, max_length=MAX_SEEDS)] = [7]
    days: Annotated[float | None, Field(gt=0, le=MAX_DAYS)] = None


class SimulationRead(BaseModel):
    id: str
    title: str
    status: RunState
    policies: list[str]
    seeds: list[int]
    days: float
    factories: int
    progress: float
    note: str
    kpis: list[dict[str, Any]]
    error: str | None
    has_report: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SimulationDetail(SimulationRead):
    config: dict[str, Any]
