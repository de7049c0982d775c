"""/parks: CRUD of industrial parks; a park organisation operates (and sees) its own; and the
park operator's figures (utilization, heatmap, idle, down, orders, trends, live stream)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse

from services.audit import service as audit
from services.auth import namespace, scope
from services.auth import service as auth_service
from services.auth.deps import CurrentPrincipal
from services.auth.models import OrgKind
from services.core.db import MAX_OFFSET, DbSession, release
from services.core.errors import InvalidError, NotFoundError
from services.parks import operations, service
from services.parks.live import SinceTracker
from services.parks.live import stream as park_live_stream
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


# ---------------------------------------------------------------- the park operator's page
# Utilization, heatmap, idle capacity, machines down, orders and trends of one park; every
# utilization figure is services.parks.utilization's definition. A park organisation sees its
# own parks only (another's answers 404), the platform every park; no customer prices.

_tracker_lock = threading.Lock()


def _since_tracker(request: Request) -> SinceTracker:
    with _tracker_lock:
        tracker = getattr(request.app.state, "park_since", None)
        if tracker is None:
            tracker = request.app.state.park_since = SinceTracker()
    return tracker  # type: ignore[no-any-return]


def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


StartQuery = Annotated[datetime | None, Query(
    description="start of the window (ISO 8601 with offset); default: see the route")]


def _aware(start: datetime | None, default: datetime) -> datetime:
    if start is None:
        return default
    if start.tzinfo is None:
        raise InvalidError("query.start", "give the time zone, e.g. 2026-12-01T00:00:00+08:00")
    return start.astimezone(UTC)


@router.get("/{park_id}/utilization")
def park_utilization(db: DbSession, request: Request, principal: CurrentPrincipal,
                     park_id: str, start: StartQuery = None,
                     days: int = Query(1, ge=1, le=31)) -> dict[str, Any]:
    """Booked and running machine-hours over published machine-hours, in all, by hour and by
    day, over ``days`` days from ``start`` (default: today 00:00 UTC)."""
    _visible(db, principal, park_id)
    begin = _aware(start, _hour(_now(request)).replace(hour=0))
    return operations.utilization_report(db, park_id=park_id, start=begin,
                                         end=begin + timedelta(days=days))


@router.get("/{park_id}/heatmap")
def park_heatmap(db: DbSession, request: Request, principal: CurrentPrincipal, park_id: str,
                 start: StartQuery = None,
                 hours: int = Query(24, ge=1, le=168)) -> dict[str, Any]:
    """Machine x hour utilization for ``hours`` hours from ``start`` (default: this hour)."""
    _visible(db, principal, park_id)
    begin = _aware(start, _hour(_now(request)))
    return operations.heatmap(db, park_id=park_id, start=begin,
                              end=begin + timedelta(hours=hours))


@router.get("/{park_id}/idle")
def park_idle(db: DbSession, request: Request, principal: CurrentPrincipal, park_id: str,
              start: StartQuery = None, days: int = Query(3, ge=1, le=14)) -> dict[str, Any]:
    """Published machine-hours nobody has booked, by process and day (default: from now)."""
    _visible(db, principal, park_id)
    begin = _aware(start, _now(request))
    return operations.idle_by_process(db, park_id=park_id, start=begin, days=days)


@router.get("/{park_id}/down")
def park_down(db: DbSession, request: Request, principal: CurrentPrincipal,
              park_id: str) -> dict[str, Any]:
    """Machines down or offline now, with since when; and the count of machines by status."""
    _visible(db, principal, park_id)
    rows = operations.machine_rows(db, park_id=park_id)
    release(db)  # no pooled connection held while Redis answers
    states = operations.read_states(request.app.state.live, rows)
    since = _since_tracker(request).observe(states)
    return {"park": park_id, "now": _now(request),
            "by_status": operations.status_counts(rows, states),
            "machines": operations.down_rows(rows, states, since)}


@router.get("/{park_id}/orders")
def park_orders(db: DbSession, request: Request, principal: CurrentPrincipal,
                park_id: str) -> dict[str, Any]:
    """Orders with lots in the park that are accepted or in production; late ones flagged."""
    _visible(db, principal, park_id)
    return operations.orders(db, park_id=park_id, now=_now(request))


@router.get("/{park_id}/trends")
def park_trends(db: DbSession, request: Request, principal: CurrentPrincipal, park_id: str,
                weeks: int = Query(8, ge=1, le=26)) -> dict[str, Any]:
    """Utilization, idle hours and lots done per week, the last ``weeks`` weeks."""
    _visible(db, principal, park_id)
    return operations.trends(db, park_id=park_id, now=_now(request), weeks=weeks)


@router.get("/{park_id}/live", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
def park_live(db: DbSession, request: Request, principal: CurrentPrincipal, park_id: str,
              max_events: int | None = Query(None, ge=1, description="close after this many "
                                             "events (tests, batch readers)"),
              max_s: float = Query(300.0, gt=0, le=3600, description="close after this many "
                                   "seconds (the browser reconnects by itself)"),
              ) -> StreamingResponse:
    """Server-sent events: a ``snapshot`` of the park's machines, then a ``state`` event for
    every machine whose status changes (down, offline, running, idle)."""
    _visible(db, principal, park_id)
    rows = operations.machine_rows(db, park_id=park_id)
    release(db)
    live = request.app.state.live
    where = {r[0]: (r[1], r[2], r[3]) for r in rows}

    def read() -> dict[str, Any]:
        return operations.read_states(live, rows)

    return StreamingResponse(
        park_live_stream(read=read, where=where, tracker=_since_tracker(request),
                         disconnected=request.is_disconnected, max_events=max_events,
                         max_s=max_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
