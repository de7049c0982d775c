"""/simulations: launch a run from a config, follow it, open its report, list runs to compare.

Analysts (and the platform) only; an analyst organisation sees its own runs (another's
answers 404). A run is queued for the app's ``SimulationWorker`` (bounded concurrency and
queue: 429 when full) and answered at once with 202.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse

from services.auth.deps import CurrentPrincipal
from services.auth.principal import Principal
from services.core.db import DbSession
from services.core.errors import ConflictError, NotFoundError
from services.simulations import service
from services.simulations.models import (
    SimulationCreate,
    SimulationDetail,
    SimulationRead,
    SimulationRun,
)
from services.simulations.worker import QueueFullError, SimulationWorker

router = APIRouter(prefix="/simulations", tags=["simulations"])
_worker_lock = threading.Lock()


def worker(request: Request) -> SimulationWorker:
    """The app's worker, started with the first run (most servers never launch one)."""
    with _worker_lock:
        found = getattr(request.app.state, "simulations", None)
        if found is None:
            settings = request.app.state.settings
            found = SimulationWorker(request.app.state.session_factory,
                                     workers=settings.simulation_workers,
                                     max_queued=settings.simulation_queue,
                                     clock=request.app.state.clock)
            request.app.state.simulations = found
    return found  # type: ignore[no-any-return]


def _tenant(principal: Principal) -> str | None:
    return None if principal.is_platform else principal.org_id


def _visible(db: DbSession, principal: Principal, simulation_id: str) -> SimulationRun:
    run = service.get(db, run_id=simulation_id)
    if run is None or _tenant(principal) not in (None, run.org_id):
        raise NotFoundError("simulation", simulation_id)
    return run


@router.post("", response_model=SimulationRead, status_code=status.HTTP_202_ACCEPTED)
def launch(db: DbSession, request: Request, principal: CurrentPrincipal,
           sim_in: SimulationCreate) -> SimulationRead:
    """Queue a run (default config: simulations/examples/market.yaml); follow it with GET."""
    runner = worker(request)
    if runner.queued() >= runner.max_queued:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"{runner.max_queued} runs are waiting already; try later")
    run = service.create(db, org_id=principal.org_id, sim_in=sim_in)
    read = service.to_read(run)
    db.commit()  # stored before the worker looks for it
    try:
        runner.submit(run.id)
    except QueueFullError as exc:
        service.fail(db, run_id=run.id, error=str(exc), now=request.app.state.clock())
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from exc
    return read


@router.get("", response_model=list[SimulationRead])
def list_runs(db: DbSession, principal: CurrentPrincipal,
              limit: int = Query(100, ge=1, le=1000)) -> list[SimulationRead]:
    """Runs newest first, with their KPIs (what the comparison table shows)."""
    return [service.to_read(r) for r in service.get_all(db, org_id=_tenant(principal),
                                                        limit=limit)]


@router.get("/example")
def example() -> dict[str, Any]:
    """The shipped example config (simulations/examples/market.yaml) as JSON, to edit."""
    return service.example_config()


@router.get("/{simulation_id}", response_model=SimulationDetail)
def get_run(db: DbSession, principal: CurrentPrincipal,
            simulation_id: str) -> SimulationDetail:
    return service.to_detail(_visible(db, principal, simulation_id))


@router.get("/{simulation_id}/report", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}}},
                       409: {"description": "the run has not finished"}})
def report(db: DbSession, principal: CurrentPrincipal, simulation_id: str) -> HTMLResponse:
    """The run's HTML report (simulations/report.py): one self-contained page."""
    run = _visible(db, principal, simulation_id)
    if run.report_html is None:
        raise ConflictError(f"simulation {simulation_id} is {run.status}: no report yet")
    return HTMLResponse(run.report_html)
