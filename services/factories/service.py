"""Factory persistence. A factory arrives as the scenario's factory object, resources and windows
inside.

A factory created or moved through the API must name a registered park (``POST /parks``): a
typo in ``park`` is a 422, not a new park. The scenario import is the exception: a scenario
document (docs/formats.md) has no list of parks, it names them through its factories, so
importing one creates the parks it names (``create_parks=True``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from domain import model as m
from domain.schemas import FactoryIn
from services.core import db
from services.core.db import page
from services.core.errors import ConflictError, InvalidError, NotFoundError
from services.factories.models import Factory, FactoryUpdate
from services.parks import service as park_service
from services.resources import service as resource_service
from services.resources.models import Resource


def get(session: Session, *, factory_id: str) -> Factory | None:
    return session.get(Factory, factory_id)


def get_all(session: Session, *, park_id: str | None = None, limit: int | None = None,
            offset: int = 0, visible: ColumnElement[bool] | None = None) -> Sequence[Factory]:
    """Factories in document order, resources and windows loaded in the same few queries;
    ``visible`` is the caller's tenancy condition (auth.scope)."""
    query = select(Factory).options(
        selectinload(Factory.resources).selectinload(Resource.windows))
    if visible is not None:
        query = query.where(visible)
    if park_id is not None:
        query = query.where(Factory.park_id == park_id)
    query = query.order_by(Factory.position, Factory.id)
    query = page(query, limit=limit, offset=offset)
    return session.scalars(query).all()


def next_position(session: Session) -> int:
    return db.next_position(session, Factory.position)


def create(session: Session, *, factory_in: FactoryIn, position: int | None = None,
           source: str = "api", create_parks: bool = False,
           org_id: str | None = None) -> Factory:
    """Store a new factory; ``org_id`` (default: the document's ``org``) manages it."""
    if session.get(Factory, factory_in.id) is not None:
        raise ConflictError(f"factory {factory_in.id!r} already exists")
    _park(session, factory_in.park, create=create_parks)
    factory = Factory(
        id=factory_in.id, park_id=factory_in.park, name=factory_in.name, lat=factory_in.lat,
        lon=factory_in.lon, rating=factory_in.rating,
        certifications=list(factory_in.certifications),
        position=next_position(session) if position is None else position,
        org_id=org_id if org_id is not None else factory_in.org,
    )
    session.add(factory)
    session.flush()
    resource_service.add_many(session, factory_id=factory.id,
                              resources_in=list(factory_in.resources), source=source)
    return factory


def upsert(session: Session, *, factory_in: FactoryIn, position: int, source: str,
           create_parks: bool = False) -> Factory:
    """Create the factory, or bring the stored one in line with ``factory_in`` in place.

    Resources are updated in place (their bookings stay valid), added, or removed when the
    document no longer lists them (a booked one makes that a 409).
    """
    factory = session.get(Factory, factory_in.id)
    if factory is None:
        return create(session, factory_in=factory_in, position=position, source=source,
                      create_parks=create_parks)
    _park(session, factory_in.park, create=create_parks)
    factory.park_id, factory.name = factory_in.park, factory_in.name
    factory.lat, factory.lon, factory.rating = factory_in.lat, factory_in.lon, factory_in.rating
    factory.certifications = list(factory_in.certifications)
    if factory_in.org is not None:  # a document without ``org`` keeps the stored owner
        factory.org_id = factory_in.org
    wanted = {r.id for r in factory_in.resources}
    for stale in [r for r in factory.resources if r.id not in wanted]:
        factory.resources.remove(stale)
    session.flush()
    for i, r in enumerate(factory_in.resources):
        resource_service.upsert(session, factory_id=factory.id, resource_in=r, position=i,
                                source=source)
    session.expire(factory, ["resources"])
    return factory


def update(session: Session, *, factory: Factory, factory_in: FactoryUpdate) -> Factory:
    values = factory_in.model_dump(exclude_unset=True, exclude_none=True)
    if "park" in values:
        _park(session, values["park"], create=False)
        factory.park_id = values.pop("park")
    for field, value in values.items():
        setattr(factory, field, value)
    session.flush()
    return factory


def _park(session: Session, park_id: str, *, create: bool) -> None:
    """Check the park exists (422 naming it), or create it when the caller may."""
    if create:
        park_service.ensure(session, park_id=park_id)
    elif park_service.get(session, park_id=park_id) is None:
        raise InvalidError("body.park", f"park {park_id!r} does not exist; create it with "
                                        "POST /parks first")


def delete(session: Session, *, factory_id: str) -> None:
    factory = session.get(Factory, factory_id)
    if factory is None:
        raise NotFoundError("factory", factory_id)
    session.delete(factory)
    session.flush()  # a booked resource (RESTRICT key) makes this a 409


def to_wire(factory: Factory) -> FactoryIn:
    """The scenario's factory object of a row, resources included."""
    return FactoryIn(
        id=factory.id, name=factory.name, park=factory.park_id, lat=factory.lat,
        lon=factory.lon, rating=factory.rating, certifications=list(factory.certifications),
        resources=[resource_service.to_wire(r) for r in factory.resources],
    )


def to_domain(factory: Factory, resources: Sequence[Resource] | None = None) -> m.Factory:
    chosen = factory.resources if resources is None else resources
    return m.Factory(
        id=factory.id, name=factory.name or factory.id, park=factory.park_id, lat=factory.lat,
        lon=factory.lon, rating=factory.rating, certifications=tuple(factory.certifications),
        resources=tuple(resource_service.to_domain(r) for r in chosen),
    )
