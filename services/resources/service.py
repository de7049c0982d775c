"""Resource persistence, the calendar of idle windows, and the conversions to the wire/domain.

The MQTT ingest calls ``replace_windows`` with ``source="mqtt"`` when a gateway publishes a
resource's availability; the gateway is then the authority for that machine's calendar.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from domain import model as m
from domain.schemas import PricingIn, ResourceIn, WindowIn
from services.bookings import ledger
from services.core.db import page
from services.core.errors import ConflictError, NotFoundError
from services.factories.models import Factory
from services.live.store import LiveState
from services.resources.models import (
    LiveRead,
    Resource,
    ResourceCreate,
    ResourceRead,
    ResourceUpdate,
    ResourceWindow,
)

# Windows a gateway publishes are what the machine really offers: stored even when they strand
# a booking (which is then repaired), where a person's edit is refused.
FACT_SOURCE = "mqtt"


def get(session: Session, *, resource_id: str) -> Resource | None:
    return session.get(Resource, resource_id)


def get_all(session: Session, *, factory_id: str | None = None, process: str | None = None,
            park_id: str | None = None, limit: int | None = None,
            offset: int = 0, visible: ColumnElement[bool] | None = None) -> Sequence[Resource]:
    """Resources with their windows, optionally of one factory, process or park; ``visible``
    is the caller's tenancy condition on ``Factory`` (auth.scope)."""
    query = select(Resource).options(selectinload(Resource.windows))
    if visible is not None:
        query = query.join(Factory).where(visible)
    if factory_id is not None:
        query = query.where(Resource.factory_id == factory_id)
    if process is not None:
        query = query.where(Resource.process == process)
    if park_id is not None:
        if visible is None:
            query = query.join(Factory)
        query = query.where(Factory.park_id == park_id)
    query = query.order_by(Resource.factory_id, Resource.position, Resource.id)
    query = page(query, limit=limit, offset=offset)
    return session.scalars(query).all()


def known_ids(session: Session) -> dict[str, tuple[str, str]]:
    """Every resource id with its (park, factory): what the ingest checks topics against."""
    rows = session.execute(
        select(Resource.id, Factory.park_id, Factory.id).join(Factory)).all()
    return {rid: (park, factory) for rid, park, factory in rows}


def create(session: Session, *, resource_in: ResourceCreate, source: str = "api") -> Resource:
    factory = session.get(Factory, resource_in.factory)
    if factory is None:
        raise NotFoundError("factory", resource_in.factory)
    position = session.scalar(select(func.coalesce(func.max(Resource.position), -1) + 1)
                              .where(Resource.factory_id == factory.id)) or 0
    return add(session, factory_id=factory.id, resource_in=resource_in, position=position,
               source=source)


def add(session: Session, *, factory_id: str, resource_in: ResourceIn, position: int,
        source: str) -> Resource:
    """Insert one resource of a known factory with its windows (no lookups of the factory)."""
    if session.get(Resource, resource_in.id) is not None:
        raise ConflictError(f"resource {resource_in.id!r} already exists")
    resource = Resource(id=resource_in.id, factory_id=factory_id, position=position)
    _apply(resource, resource_in)
    resource.windows = [_window_row(w, source) for w in resource_in.windows]
    session.add(resource)
    session.flush()
    return resource


def add_many(session: Session, *, factory_id: str, resources_in: list[ResourceIn],
             source: str) -> list[Resource]:
    """Insert a new factory's resources with their windows: one lookup, one flush."""
    ids = [r.id for r in resources_in]
    taken = session.scalars(select(Resource.id).where(Resource.id.in_(ids))).first() \
        if ids else None
    if taken is not None:
        raise ConflictError(f"resource {taken!r} already exists")
    rows = []
    for i, r in enumerate(resources_in):
        resource = Resource(id=r.id, factory_id=factory_id, position=i)
        _apply(resource, r)
        resource.windows = [_window_row(w, source) for w in r.windows]
        rows.append(resource)
    session.add_all(rows)
    session.flush()
    return rows


def upsert(session: Session, *, factory_id: str, resource_in: ResourceIn, position: int,
           source: str) -> Resource:
    """Add the resource, or overwrite the stored one in place (its bookings stay attached)."""
    resource = session.get(Resource, resource_in.id)
    if resource is None:
        return add(session, factory_id=factory_id, resource_in=resource_in, position=position,
                   source=source)
    resource.factory_id, resource.position = factory_id, position
    _apply(resource, resource_in)
    replace_windows(session, resource_id=resource.id,
                    windows=[w.to_domain() for w in resource_in.windows], source=source)
    return resource


def update(session: Session, *, resource: Resource, resource_in: ResourceUpdate) -> Resource:
    """Merge the given fields and re-validate the whole resource as the scenario demands.

    ``pricing`` merges field by field: only the modes given change, an explicit null withdraws
    one (the resource must still offer at least one mode). A capacity or calendar that would
    strand a booking is refused (ConflictError naming the bookings): the owner cancels or
    moves those first. The resource row is locked, so no acceptance slips a booking in
    between the check and the change.
    """
    session.refresh(resource, with_for_update=True)
    merged = to_wire(resource).model_dump()
    merged.update(resource_in.model_dump(exclude_unset=True, exclude_none=True,
                                         exclude={"pricing"}))
    if resource_in.pricing is not None:
        merged["pricing"] = {**merged["pricing"],
                             **resource_in.pricing.model_dump(exclude_unset=True)}
    validated = ResourceIn.model_validate(merged)  # raises ValidationError naming the field
    windows = [(w.start, w.end) for w in validated.windows]
    blocked = ledger.stranded_by(session, resource, capacity=validated.capacity,
                                 windows=windows)
    if blocked:
        raise ConflictError(
            f"resource {resource.id}: capacity {validated.capacity} and these windows would "
            f"strand booking(s) {', '.join(blocked)}; cancel or move them first")
    _apply(resource, validated)
    if resource_in.windows is not None:
        replace_windows(session, resource_id=resource.id,
                        windows=[w.to_domain() for w in resource_in.windows], source="api")
    session.flush()
    return resource


def delete(session: Session, *, resource_id: str) -> None:
    resource = session.get(Resource, resource_id)
    if resource is None:
        raise NotFoundError("resource", resource_id)
    session.delete(resource)
    session.flush()  # bookings hold a RESTRICT key: a booked resource answers 409


def replace_windows(session: Session, *, resource_id: str, windows: list[m.Window],
                    source: str, since: datetime | None = None) -> list[str]:
    """Replace the resource's whole calendar with ``windows``, recording who published it.

    Answers the open bookings the new calendar strands. A gateway (``source="mqtt"``) reports
    a fact, so its calendar is stored and the caller repairs those bookings; any other source
    is refused with a ConflictError naming them. ``since``: the calendar's publication time
    (it says nothing about the time before).
    """
    resource = session.get(Resource, resource_id, with_for_update=True)
    if resource is None:
        raise NotFoundError("resource", resource_id)
    blocked = ledger.stranded_by(session, resource, capacity=resource.capacity,
                                 windows=[(w.start, w.end) for w in windows], since=since)
    if blocked and source != FACT_SOURCE:
        raise ConflictError(f"resource {resource_id}: these windows would strand booking(s) "
                            f"{', '.join(blocked)}; cancel or move them first")
    resource.windows = [ResourceWindow(start=w.start, end=w.end, source=source)
                        for w in sorted(windows, key=lambda w: w.start)]
    session.flush()
    return blocked


def _apply(resource: Resource, r: ResourceIn) -> None:
    resource.process = r.process
    resource.capacity = r.capacity
    resource.materials = list(r.materials)
    resource.speed = r.speed
    resource.setup_min = r.setup_min
    resource.time_share_per_hour = r.pricing.time_share_per_hour
    resource.per_piece = r.pricing.per_piece
    resource.by_value_pct = r.pricing.by_value_pct


def _window_row(w: WindowIn, source: str) -> ResourceWindow:
    return ResourceWindow(start=w.start, end=w.end, source=source)


def to_wire(resource: Resource) -> ResourceIn:
    """The scenario's resource object of a row."""
    return ResourceIn(
        id=resource.id, process=resource.process, capacity=resource.capacity,
        materials=list(resource.materials), speed=resource.speed, setup_min=resource.setup_min,
        pricing=PricingIn(time_share_per_hour=resource.time_share_per_hour,
                          per_piece=resource.per_piece, by_value_pct=resource.by_value_pct),
        windows=[WindowIn(start=w.start, end=w.end) for w in resource.windows],
    )


def to_domain(resource: Resource) -> m.Resource:
    return m.Resource(
        id=resource.id, process=resource.process, capacity=resource.capacity,
        materials=tuple(resource.materials), speed=resource.speed,
        setup_min=resource.setup_min,
        pricing=m.Pricing(resource.time_share_per_hour, resource.per_piece,
                          resource.by_value_pct),
        windows=tuple(m.Window(w.start, w.end) for w in resource.windows),
    )


def to_read(resource: Resource, live: LiveState | None) -> ResourceRead:
    wire = to_wire(resource).model_dump()
    return ResourceRead(
        **wire, factory=resource.factory_id,
        live=LiveRead(status=live.status, utilization=live.utilization,
                      last_seen=live.last_seen) if live else None,
    )
