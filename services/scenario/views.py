"""/scenario: bulk import and export in the exact scenario JSON of docs/formats.md#scenario."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from domain.schemas import ScenarioIn, dump_scenario
from services.core.db import DbSession
from services.scenario import service

router = APIRouter(prefix="/scenario", tags=["scenario"])


@router.post("", status_code=200)
def import_scenario(db: DbSession, scenario: ScenarioIn,
                    replace: bool = Query(False, description="clear the stored market first"),
                    ) -> dict[str, int]:
    """Merge (upsert by id) the document into the market, or replace the market with it."""
    service.import_scenario(db, scenario=scenario, replace=replace)
    return {"factories": len(scenario.factories), "orders": len(scenario.orders),
            "resources": sum(len(f.resources) for f in scenario.factories),
            "bookings": len(scenario.bookings)}


@router.get("")
def export_scenario(db: DbSession, request: Request) -> dict[str, Any]:
    return dump_scenario(service.export_scenario(db, now=request.app.state.clock()))
