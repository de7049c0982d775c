"""/resources: CRUD with capability and price fields; reads carry the live state."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, status

from services.core.db import MAX_OFFSET, DbSession, release
from services.core.errors import NotFoundError
from services.resources import service
from services.resources.models import ResourceCreate, ResourceRead, ResourceUpdate

router = APIRouter(prefix="/resources", tags=["resources"])


@router.get("", response_model=list[ResourceRead])
def list_resources(db: DbSession, request: Request, factory: str | None = None,
                   process: str | None = None, park: str | None = None,
                   limit: int = Query(1000, ge=1, le=10_000),
                   offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> list[ResourceRead]:
    rows = service.get_all(db, factory_id=factory, process=process, park_id=park, limit=limit,
                           offset=offset)
    release(db)  # no pooled connection held while Redis answers (or stalls)
    live = request.app.state.live.get_many([r.id for r in rows])
    return [service.to_read(r, live.get(r.id)) for r in rows]


@router.post("", response_model=ResourceRead, status_code=status.HTTP_201_CREATED)
def create_resource(db: DbSession, resource_in: ResourceCreate) -> ResourceRead:
    return service.to_read(service.create(db, resource_in=resource_in), None)


@router.get("/{resource_id}", response_model=ResourceRead)
def get_resource(db: DbSession, request: Request, resource_id: str) -> ResourceRead:
    resource = service.get(db, resource_id=resource_id)
    if resource is None:
        raise NotFoundError("resource", resource_id)
    release(db)
    return service.to_read(resource, request.app.state.live.get(resource_id))


@router.patch("/{resource_id}", response_model=ResourceRead)
def update_resource(db: DbSession, request: Request, resource_id: str,
                    resource_in: ResourceUpdate) -> ResourceRead:
    resource = service.get(db, resource_id=resource_id)
    if resource is None:
        raise NotFoundError("resource", resource_id)
    resource = service.update(db, resource=resource, resource_in=resource_in)
    release(db)  # the update commits here, before the live-state read
    return service.to_read(resource, request.app.state.live.get(resource_id))


@router.delete("/{resource_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_resource(db: DbSession, resource_id: str) -> None:
    service.delete(db, resource_id=resource_id)
