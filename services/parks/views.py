"""/parks: CRUD of industrial parks; a park organisation operates (and sees) its own."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from services.audit import service as audit
from services.auth import namespace, scope
from services.auth import service as auth_service
from services.auth.deps import CurrentPrincipal
from services.auth.models import OrgKind
from services.core.db import MAX_OFFSET, DbSession
from services.core.errors import InvalidError, NotFoundError
from services.parks import service
from services.parks.models import Park, ParkCreate, ParkRead, ParkUpdate

router = APIRouter(prefix="/parks", tags=["parks"])


def _visible(db: DbSession, principal: CurrentPrincipal, park_id: str) -> Park:
    park = service.get(db, park_id=park_id)
    if park is None or not scope.sees_park(db, principal, park):
        raise NotFoundError("park", park_id)
    return park


@router.get("", response_model=list[ParkRead])
def list_parks(db: DbSession, principal: CurrentPrincipal,
               limit: int = Query(1000, ge=1, le=10_000),
               offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> list[ParkRead]:
    rows = service.get_all(db, limit=limit, offset=offset, visible=scope.parks(principal))
    return [service.to_read(db, p) for p in rows]


@router.post("", response_model=ParkRead, status_code=status.HTTP_201_CREATED)
def create_park(db: DbSession, principal: CurrentPrincipal, park_in: ParkCreate) -> ParkRead:
    """Register a park: a park organisation operates it; the platform names its operator."""
    if principal.is_platform:
        if park_in.operator is not None:
            auth_service.require_org(db, org_id=park_in.operator, kind=OrgKind.PARK,
                                     field="body.operator")
    elif park_in.operator not in (None, principal.org_id):
        raise InvalidError("body.operator", "a park organisation registers parks it operates")
    else:
        park_in = park_in.model_copy(update={"operator": principal.org_id,
                                             "id": namespace.qualify(principal, park_in.id)})
    park = service.to_read(db, service.create(db, park_in=park_in))
    audit.record_by(db, principal, action="park.created", object_type="park",
                    object_id=park.id, owner_org=park.operator, after=park)
    return park


@router.get("/{park_id}", response_model=ParkRead)
def get_park(db: DbSession, principal: CurrentPrincipal, park_id: str) -> ParkRead:
    return service.to_read(db, _visible(db, principal, park_id))


@router.patch("/{park_id}", response_model=ParkRead)
def update_park(db: DbSession, principal: CurrentPrincipal, park_id: str,
                park_in: ParkUpdate) -> ParkRead:
    park = _visible(db, principal, park_id)
    if park_in.operator is not None:
        if not principal.is_platform:
            raise InvalidError("body.operator", "only the platform assigns a park's operator")
        auth_service.require_org(db, org_id=park_in.operator, kind=OrgKind.PARK,
                                 field="body.operator")
    before = service.to_read(db, park)
    after = service.to_read(db, service.update(db, park=park, park_in=park_in))
    audit.record_by(db, principal, action="park.updated", object_type="park",
                    object_id=park_id, owner_org=park.operator_org_id, before=before,
                    after=after)
    return after


@router.delete("/{park_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_park(db: DbSession, principal: CurrentPrincipal, park_id: str) -> None:
    park = _visible(db, principal, park_id)
    before, owner = service.to_read(db, park), park.operator_org_id
    service.delete(db, park_id=park_id)
    audit.record_by(db, principal, action="park.deleted", object_type="park",
                    object_id=park_id, owner_org=owner, before=before)
