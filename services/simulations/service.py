"""Simulation runs: create, read, and the worker's progress and outcome writes.

The config is checked here before it is stored (a run that cannot start is a 422 now, not a
failed run later): it must parse as a ``simulations`` config, stay under the size limits, and
name known policies.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.errors import InvalidError
from services.simulations.models import (
    MAX_CONFIG_BYTES,
    MAX_FACTORIES,
    POLICIES,
    RunState,
    SimulationCreate,
    SimulationDetail,
    SimulationRead,
    SimulationRun,
)
from simulations.config import ConfigError, parse_config, read_raw

EXAMPLE = Path(__file__).resolve().parents[2] / "simulations" / "examples" / "market.yaml"


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


@lru_cache(maxsize=1)
def example_config() -> dict[str, Any]:
    """The shipped example config as JSON-able data (what the page starts from)."""
    raw = read_raw(EXAMPLE)
    data: dict[str, Any] = json.loads(json.dumps(raw, default=_iso))
    return data


def checked_config(sim_in: SimulationCreate) -> dict[str, Any]:
    """The config to store: the sent one or the example, with ``days`` applied, validated."""
    config = dict(sim_in.config) if sim_in.config is not None else dict(example_config())
    if sim_in.days is not None:
        config["days"] = sim_in.days
    size = len(json.dumps(config, default=str))
    if size > MAX_CONFIG_BYTES:
        raise InvalidError("body.config", f"{size} bytes; at most {MAX_CONFIG_BYTES}")
    unknown = [p for p in sim_in.policies if p not in POLICIES]
    if unknown:
        raise InvalidError("body.policies", f"unknown {', '.join(unknown)}; choose from "
                                            f"{', '.join(POLICIES)}")
    try:
        parsed = parse_config(config, "body.config")
    except ConfigError as exc:
        raise InvalidError("body.config", str(exc)) from exc
    if parsed.market.factories > MAX_FACTORIES:
        raise InvalidError("body.config.market.factories", f"at most {MAX_FACTORIES} here "
                           "(run bigger markets with `sharefab simulate`)")
    if parsed.days > 14 or parsed.drain_days > 30:
        raise InvalidError("body.config.days", "at most 14 days of arrivals and 30 of drain "
                           "here (run longer ones with `sharefab simulate`)")
    return config


def create(session: Session, *, org_id: str, sim_in: SimulationCreate) -> SimulationRun:
    run = SimulationRun(id=f"SIM-{uuid.uuid4().hex[:12]}", org_id=org_id,
                        title=sim_in.title, config=checked_config(sim_in),
                        policies=list(dict.fromkeys(sim_in.policies)),
                        seeds=list(dict.fromkeys(sim_in.seeds)),
                        status=RunState.QUEUED.value, kpis=[])
    session.add(run)
    session.flush()
    return run


def get(session: Session, *, run_id: str) -> SimulationRun | None:
    return session.get(SimulationRun, run_id)


def get_all(session: Session, *, org_id: str | None, limit: int = 100
            ) -> Sequence[SimulationRun]:
    """Newest first; ``org_id`` None: every organisation's (the platform)."""
    query = select(SimulationRun).order_by(SimulationRun.created_at.desc(),
                                           SimulationRun.id).limit(limit)
    if org_id is not None:
        query = query.where(SimulationRun.org_id == org_id)
    return session.scalars(query).all()


def count_open(session: Session) -> int:
    return len(session.scalars(select(SimulationRun.id).where(SimulationRun.status.in_(
        [RunState.QUEUED.value, RunState.RUNNING.value]))).all())


def start(session: Session, *, run: SimulationRun, now: datetime) -> None:
    run.status, run.started_at, run.note = RunState.RUNNING.value, now, ""
    session.flush()


def set_progress(session: Session, *, run_id: str, progress: float, note: str) -> None:
    run = session.get(SimulationRun, run_id)
    if run is not None:
        run.progress, run.note = round(min(1.0, max(0.0, progress)), 4), note[:500]
        session.flush()


def finish(session: Session, *, run_id: str, kpis: list[dict[str, Any]], report_html: str,
           now: datetime) -> None:
    run = session.get(SimulationRun, run_id)
    if run is not None:
        run.status, run.kpis, run.report_html = RunState.DONE.value, kpis, report_html
        run.progress, run.finished_at, run.note = 1.0, now, ""
        session.flush()


def fail(session: Session, *, run_id: str, error: str, now: datetime) -> None:
    run = session.get(SimulationRun, run_id)
    if run is not None:
        run.status, run.error, run.finished_at = RunState.FAILED.value, error[:2000], now
        session.flush()


def fail_abandoned(session: Session, *, now: datetime) -> int:
    """Runs left queued or running by a stopped server: failed, with the reason."""
    rows = session.scalars(select(SimulationRun).where(SimulationRun.status.in_(
        [RunState.QUEUED.value, RunState.RUNNING.value]))).all()
    for run in rows:
        run.status, run.finished_at = RunState.FAILED.value, now
        run.error = "the server stopped before this run finished; launch it again"
    session.flush()
    return len(rows)


def to_read(run: SimulationRun) -> SimulationRead:
    return SimulationRead(
        id=run.id, title=run.title, status=RunState(run.status), policies=run.policies,
        seeds=run.seeds, days=float(run.config.get("days", 0)),
        factories=int(run.config.get("market", {}).get("factories", 0)),
        progress=run.progress, note=run.note, kpis=run.kpis, error=run.error,
        has_report=run.report_html is not None, created_at=run.created_at,
        started_at=run.started_at, finished_at=run.finished_at)


def to_detail(run: SimulationRun) -> SimulationDetail:
    return SimulationDetail(**to_read(run).model_dump(), config=run.config)
