"""/factories: CRUD; POST takes the scenario's factory object (docs/formats.md#scenario) as it
stands.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from domain.schemas import FactoryIn
from services.core.db import MAX_OFFSET, DbSession
from services.core.errors import NotFoundError
from services.factories import service
from services.factories.models import FactoryUpdate

router = APIRouter(prefix="/factories", tags=["factories"])


@router.get("", response_model=list[FactoryIn])
def list_factories(db: DbSession, park: str | None = None,
                   limit: int = Query(1000, ge=1, le=10_000),
                   offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> list[FactoryIn]:
    return [service.to_wire(f) for f in service.get_all(db, park_id=park, limit=limit,
                                                        offset=offset)]


@router.post("", response_model=FactoryIn, status_code=status.HTTP_201_CREATED)
def create_factory(db: DbSession, factory_in: FactoryIn) -> FactoryIn:
    return service.to_wire(service.create(db, factory_in=factory_in))


@router.get("/{factory_id}", response_model=FactoryIn)
def get_factory(db: DbSession, factory_id: str) -> FactoryIn:
    factory = service.get(db, factory_id=factory_id)
    if factory is None:
        raise NotFoundError("factory", factory_id)
    return service.to_wire(factory)


@router.patch("/{factory_id}", response_model=FactoryIn)
def update_factory(db: DbSession, factory_id: str, factory_in: FactoryUpdate) -> FactoryIn:
    factory = service.get(db, factory_id=factory_id)
    if factory is None:
        raise NotFoundError("factory", factory_id)
    return service.to_wire(service.update(db, factory=factory, factory_in=factory_in))


@router.delete("/{factory_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_factory(db: DbSession, factory_id: str) -> None:
    service.delete(db, factory_id=factory_id)
