"""Park persistence: plain functions with keyword-only arguments."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from services.core.errors import ConflictError, NotFoundError
from services.factories.models import Factory
from services.parks.models import Park, ParkCreate, ParkRead, ParkUpdate


def get(session: Session, *, park_id: str) -> Park | None:
    return session.get(Park, park_id)


def get_all(session: Session, *, limit: int = 1000, offset: int = 0,
            visible: ColumnElement[bool] | None = None) -> Sequence[Park]:
    """Parks by id; ``visible`` is the caller's tenancy condition (auth.scope)."""
    query = select(Park) if visible is None else select(Park).where(visible)
    return session.scalars(query.order_by(Park.id).limit(limit).offset(offset)).all()


def create(session: Session, *, park_in: ParkCreate) -> Park:
    if session.get(Park, park_in.id) is not None:
        raise ConflictError(f"park {park_in.id!r} already exists")
    park = Park(id=park_in.id, name=park_in.name, city=park_in.city,
                operator_org_id=park_in.operator)
    session.add(park)
    session.flush()
    return park


def ensure(session: Session, *, park_id: str) -> Park:
    """The park ``park_id``, created with its id as name when a factory names it first."""
    park = session.get(Park, park_id)
    if park is None:
        park = Park(id=park_id, name=park_id, city="")
        session.add(park)
        session.flush()
    return park


def update(session: Session, *, park: Park, park_in: ParkUpdate) -> Park:
    values = park_in.model_dump(exclude_unset=True, exclude_none=True)
    if "operator" in values:
        park.operator_org_id = values.pop("operator")
    for field, value in values.items():
        setattr(park, field, value)
    session.flush()
    return park


def delete(session: Session, *, park_id: str) -> None:
    park = session.get(Park, park_id)
    if park is None:
        raise NotFoundError("park", park_id)
    if factory_count(session, park_id=park_id):
        raise ConflictError(f"park {park_id!r} still has factories; delete or move them first")
    session.delete(park)
    session.flush()


def factory_count(session: Session, *, park_id: str) -> int:
    return session.scalar(select(func.count()).where(Factory.park_id == park_id)) or 0


def to_read(session: Session, park: Park) -> ParkRead:
    return ParkRead(id=park.id, name=park.name, city=park.city, operator=park.operator_org_id,
                    factories=factory_count(session, park_id=park.id))
