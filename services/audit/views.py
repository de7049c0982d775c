"""/audit: the platform sees every event, any other organisation those it did or owns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.audit import service
from services.audit.models import AuditRead
from services.auth.deps import CurrentPrincipal
from services.core.db import DbSession

router = APIRouter(tags=["audit"])
Filter = Annotated[str | None, Query(max_length=64)]


@router.get("/audit", response_model=list[AuditRead])
def list_audit(db: DbSession, principal: CurrentPrincipal, object_type: Filter = None,
               object_id: Filter = None, action: Filter = None,
               limit: int = Query(1000, ge=1, le=10_000),
               offset: int = Query(0, ge=0, le=2**62)) -> list[AuditRead]:
    rows = service.get_all(db, org_id=None if principal.is_platform else principal.org_id,
                           object_type=object_type, object_id=object_id, action=action,
                           limit=limit, offset=offset)
    return [service.to_read(e) for e in rows]
