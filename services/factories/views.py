"""/factories: CRUD; POST takes the scenario's factory object (docs/formats.md#scenario) as it
stands.

A factory organisation registers and manages its own factories; a park organisation reads the
factories of the parks it operates; another tenant's factory answers 404.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Query, Request, status

from domain.schemas import FactoryIn, UtcDatetime
from services.audit import service as audit
from services.auth import namespace, scope
from services.auth import service as auth_service
from services.auth.deps import CurrentPrincipal
from services.auth.models import OrgKind
from services.core.db import MAX_OFFSET, DbSession
from services.core.errors import InvalidError, NotFoundError
from services.factories import earnings, service, utilization
from services.factories.models import Factory, FactoryUpdate

router = APIRouter(prefix="/factories", tags=["factories"])


@router.get("", response_model=list[FactoryIn])
def list_factories(db: DbSession, principal: CurrentPrincipal, park: str | None = None,
                   limit: int = Query(1000, ge=1, le=10_000),
                   offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> list[FactoryIn]:
    rows = service.get_all(db, park_id=park, limit=limit, offset=offset,
                           visible=scope.factories(principal))
    return [service.to_wire(f) for f in rows]


@router.post("", response_model=FactoryIn, status_code=status.HTTP_201_CREATED)
def create_factory(db: DbSession, principal: CurrentPrincipal, factory_in: FactoryIn
                   ) -> FactoryIn:
    """Register a factory: under the caller's own organisation, or (platform) the one named."""
    if principal.is_platform:
        org = factory_in.org
        if org is not None:
            auth_service.require_org(db, org_id=org, kind=OrgKind.FACTORY, field="body.org")
    elif factory_in.org not in (None, principal.org_id):
        raise InvalidError("body.org", "a factory organisation registers only its own factories")
    else:
        org = principal.org_id
    factory_in = factory_in.model_copy(update={
        "id": namespace.qualify(principal, factory_in.id),
        "resources": [r.model_copy(update={"id": namespace.qualify(
            principal, r.id, field=f"body.resources.{i}.id")})
            for i, r in enumerate(factory_in.resources)]})
    factory = service.to_wire(service.create(db, factory_in=factory_in, org_id=org))
    audit.record_by(db, principal, action="factory.created", object_type="factory",
                    object_id=factory.id, owner_org=org, after=factory)
    return factory


def get_visible(db: DbSession, principal: CurrentPrincipal, factory_id: str) -> Factory:
    factory = service.get(db, factory_id=factory_id)
    if factory is None or not scope.sees_factory(db, principal, factory):
        raise NotFoundError("factory", factory_id)
    return factory


def get_owned(db: DbSession, principal: CurrentPrincipal, factory_id: str) -> Factory:
    factory = service.get(db, factory_id=factory_id)
    if factory is None or not scope.owns_factory(principal, factory):
        raise NotFoundError("factory", factory_id)
    return factory


@router.get("/{factory_id}", response_model=FactoryIn)
def get_factory(db: DbSession, principal: CurrentPrincipal, factory_id: str) -> FactoryIn:
    return service.to_wire(get_visible(db, principal, factory_id))


@router.patch("/{factory_id}", response_model=FactoryIn)
def update_factory(db: DbSession, principal: CurrentPrincipal, factory_id: str,
                   factory_in: FactoryUpdate) -> FactoryIn:
    factory = get_owned(db, principal, factory_id)
    before = service.to_wire(factory)
    after = service.to_wire(service.update(db, factory=factory, factory_in=factory_in))
    audit.record_by(db, principal, action="factory.updated", object_type="factory",
                    object_id=factory_id, owner_org=factory.org_id, before=before, after=after)
    return after


@router.delete("/{factory_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_factory(db: DbSession, principal: CurrentPrincipal, factory_id: str) -> None:
    factory = get_owned(db, principal, factory_id)
    before, owner = service.to_wire(factory), factory.org_id
    service.delete(db, factory_id=factory_id)
    audit.record_by(db, principal, action="factory.deleted", object_type="factory",
                    object_id=factory_id, owner_org=owner, before=before)


# The periods the factory page shows when it names none: earnings a month back and ahead,
# utilization from today's UTC midnight over the next week. At most a year per request.
EARNINGS_SPAN = timedelta(days=30)
UTILIZATION_SPAN = timedelta(days=7)
MAX_SPAN = timedelta(days=366)


def _period(since: datetime | None, until: datetime | None, *, default_since: datetime,
            default_span: timedelta) -> tuple[datetime, datetime]:
    since = since or default_since
    try:
        until = until or since + default_span
    except OverflowError:  # since in the year 9999
        raise InvalidError("query.since", "too far in the future") from None
    if until <= since:
        raise InvalidError("query.until", "must be after since")
    if until - since > MAX_SPAN:
        raise InvalidError("query.until", "the period is at most 366 days")
    return since, until


@router.get("/{factory_id}/earnings", response_model=earnings.EarningsRead)
def factory_earnings(db: DbSession, request: Request, principal: CurrentPrincipal,
                     factory_id: str, since: UtcDatetime | None = None,
                     until: UtcDatetime | None = None) -> earnings.EarningsRead:
    """The factory's own earnings per lot and per day (default: 30 days back and ahead)."""
    get_owned(db, principal, factory_id)
    now = request.app.state.clock()
    since, until = _period(since, until, default_since=now - EARNINGS_SPAN,
                           default_span=2 * EARNINGS_SPAN)
    return earnings.get(db, factory_id=factory_id, since=since, until=until)


@router.get("/{factory_id}/utilization", response_model=utilization.UtilizationRead)
def factory_utilization(db: DbSession, request: Request, principal: CurrentPrincipal,
                        factory_id: str, since: UtcDatetime | None = None,
                        until: UtcDatetime | None = None) -> utilization.UtilizationRead:
    """Booked over published hours of the factory's own resources (default: the next 7 days
    from today's UTC midnight)."""
    get_owned(db, principal, factory_id)
    midnight = request.app.state.clock().replace(hour=0, minute=0, second=0, microsecond=0)
    since, until = _period(since, until, default_since=midnight, default_span=UTILIZATION_SPAN)
    return utilization.get(db, factory_id=factory_id, since=since, until=until)
