"""/parks: CRUD of industrial parks."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from services.core.db import MAX_OFFSET, DbSession
from services.core.errors import NotFoundError
from services.parks import service
from services.parks.models import ParkCreate, ParkRead, ParkUpdate

router = APIRouter(prefix="/parks", tags=["parks"])


@router.get("", response_model=list[ParkRead])
def list_parks(db: DbSession, limit: int = Query(1000, ge=1, le=10_000),
               offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> list[ParkRead]:
    return [service.to_read(db, p) for p in service.get_all(db, limit=limit, offset=offset)]


@router.post("", response_model=ParkRead, status_code=status.HTTP_201_CREATED)
def create_park(db: DbSession, park_in: ParkCreate) -> ParkRead:
    return service.to_read(db, service.create(db, park_in=park_in))


@router.get("/{park_id}", response_model=ParkRead)
def get_park(db: DbSession, park_id: str) -> ParkRead:
    park = service.get(db, park_id=park_id)
    if park is None:
        raise NotFoundError("park", park_id)
    return service.to_read(db, park)


@router.patch("/{park_id}", response_model=ParkRead)
def update_park(db: DbSession, park_id: str, park_in: ParkUpdate) -> ParkRead:
    park = service.get(db, park_id=park_id)
    if park is None:
        raise NotFoundError("park", park_id)
    return service.to_read(db, service.update(db, park=park, park_in=park_in))


@router.delete("/{park_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_park(db: DbSession, park_id: str) -> None:
    service.delete(db, park_id=park_id)
