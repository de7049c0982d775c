"""/resources: CRUD with capability and price fields; reads carry the live state.

Only the factory organisation owning a resource's factory changes it (prices, windows and
capacity are audited with before and after); a park reads its parks' resources.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, status

from services.audit import service as audit
from services.auth import namespace, scope
from services.auth.deps import CurrentPrincipal
from services.core.db import MAX_OFFSET, DbSession, release
from services.core.errors import NotFoundError
from services.factories import service as factory_service
from services.live.deps import RedisNeeded
from services.resources import service
from services.resources.models import Resource, ResourceCreate, ResourceRead, ResourceUpdate

router = APIRouter(prefix="/resources", tags=["resources"])


def _visible(db: DbSession, principal: CurrentPrincipal, resource_id: str) -> Resource:
    resource = service.get(db, resource_id=resource_id)
    if resource is None or not scope.sees_factory(db, principal, resource.factory):
        raise NotFoundError("resource", resource_id)
    return resource


def _owned(db: DbSession, principal: CurrentPrincipal, resource_id: str) -> Resource:
    resource = service.get(db, resource_id=resource_id)
    if resource is None or not scope.owns_factory(principal, resource.factory):
        raise NotFoundError("resource", resource_id)
    return resource


# Reads carry the live state: while the Redis breaker is open they answer 503 before any
# database work (services.live.deps); the PATCH too, so nothing is committed for a 503.
@router.get("", response_model=list[ResourceRead], dependencies=[RedisNeeded])
def list_resources(db: DbSession, request: Request, principal: CurrentPrincipal,
                   factory: str | None = None, process: str | None = None,
                   park: str | None = None, limit: int = Query(1000, ge=1, le=10_000),
                   offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> list[ResourceRead]:
    rows = service.get_all(db, factory_id=factory, process=process, park_id=park, limit=limit,
                           offset=offset, visible=scope.factories(principal))
    release(db)  # no pooled connection held while Redis answers (or stalls)
    live = request.app.state.live.get_many([r.id for r in rows])
    return [service.to_read(r, live.get(r.id)) for r in rows]


@router.post("", response_model=ResourceRead, status_code=status.HTTP_201_CREATED)
def create_resource(db: DbSession, principal: CurrentPrincipal,
                    resource_in: ResourceCreate) -> ResourceRead:
    factory = factory_service.get(db, factory_id=resource_in.factory)
    if factory is None or not scope.owns_factory(principal, factory):
        raise NotFoundError("factory", resource_in.factory)
    resource_in = resource_in.model_copy(
        update={"id": namespace.qualify(principal, resource_in.id)})
    read = service.to_read(service.create(db, resource_in=resource_in), None)
    audit.record_by(db, principal, action="resource.created", object_type="resource",
                    object_id=read.id, owner_org=factory.org_id, after=read)
    return read


@router.get("/{resource_id}", response_model=ResourceRead, dependencies=[RedisNeeded])
def get_resource(db: DbSession, request: Request, principal: CurrentPrincipal,
                 resource_id: str) -> ResourceRead:
    resource = _visible(db, principal, resource_id)
    release(db)
    return service.to_read(resource, request.app.state.live.get(resource_id))


@router.patch("/{resource_id}", response_model=ResourceRead, dependencies=[RedisNeeded])
def update_resource(db: DbSession, request: Request, principal: CurrentPrincipal,
                    resource_id: str, resource_in: ResourceUpdate) -> ResourceRead:
    """Change capability, price, capacity or calendar; audited with before and after."""
    resource = _owned(db, principal, resource_id)
    before = service.to_wire(resource)
    resource = service.update(db, resource=resource, resource_in=resource_in)
    audit.record_by(db, principal, action="resource.updated", object_type="resource",
                    object_id=resource_id, owner_org=resource.factory.org_id, before=before,
                    after=service.to_wire(resource))
    release(db)  # the update commits here, before the live-state read
    return service.to_read(resource, request.app.state.live.get(resource_id))


@router.delete("/{resource_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_resource(db: DbSession, principal: CurrentPrincipal, resource_id: str) -> None:
    resource = _owned(db, principal, resource_id)
    before, owner = service.to_wire(resource), resource.factory.org_id
    service.delete(db, resource_id=resource_id)
    audit.record_by(db, principal, action="resource.deleted", object_type="resource",
                    object_id=resource_id, owner_org=owner, before=before)
