"""/scenario: bulk import and export in the exact scenario JSON of docs/formats.md#scenario
(the platform's alone).

An import may name each factory's organisation (``org``, an extension field); the import itself
is audited with the counts and the factory-to-organisation assignments.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from domain.schemas import ScenarioIn, dump_scenario
from services.audit import service as audit
from services.auth import service as auth_service
from services.auth.deps import CurrentPrincipal
from services.auth.models import OrgKind
from services.core.db import DbSession
from services.scenario import service

router = APIRouter(prefix="/scenario", tags=["scenario"])


@router.post("", status_code=200)
def import_scenario(db: DbSession, principal: CurrentPrincipal, scenario: ScenarioIn,
                    replace: bool = Query(False, description="clear the stored market first"),
                    ) -> dict[str, int]:
    """Merge (upsert by id) the document into the market, or replace the market with it."""
    for i, f in enumerate(scenario.factories):
        if f.org is not None:
            auth_service.require_org(db, org_id=f.org, kind=OrgKind.FACTORY,
                                     field=f"body.factories.{i}.org")
    service.import_scenario(db, scenario=scenario, replace=replace)
    counts = {"factories": len(scenario.factories), "orders": len(scenario.orders),
              "resources": sum(len(f.resources) for f in scenario.factories),
              "bookings": len(scenario.bookings)}
    audit.record_by(db, principal, action="scenario.imported", object_type="market",
                    object_id="market", after={
                        **counts, "replace": replace,
                        "factory_orgs": {f.id: f.org for f in scenario.factories if f.org}})
    return counts


@router.get("")
def export_scenario(db: DbSession, request: Request) -> dict[str, Any]:
    return dump_scenario(service.export_scenario(db, now=request.app.state.clock()))
