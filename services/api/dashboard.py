"""Market aggregates as JSON (``/dashboard/data``), for scripts and the load benchmark.

The page that used to poll it is gone: the web app (services/web, ``/app``) replaced it, and
``/`` now redirects there. Idle capacity is the hours of published windows in the next 24 h,
minus the hours booked in them; utilization is the mean the gateways report for resources with
a live state (the park page's defined utilization is services/parks/utilization.py).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import processes
from services.auth.deps import CurrentPrincipal
from services.bookings.models import ACTIVE_STATES, Booking
from services.core.db import DbSession, release
from services.factories.models import Factory
from services.live.deps import RedisNeeded
from services.orders.models import Order
from services.parks.models import Park
from services.resources.models import Resource, ResourceWindow

router = APIRouter(tags=["dashboard"])

@router.get("/dashboard/data", dependencies=[RedisNeeded])  # 503 first while Redis is down
def data(db: DbSession, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """What the page shows, as JSON (also handy for scripts).

    A park operator sees its own parks only (and no order counts, which are customers'
    business); analysts and the platform see the whole market's aggregates.
    """
    now = request.app.state.clock()
    if principal.org_kind == "park":
        return summary(db, live=request.app.state.live, now=now,
                       operator_org_id=principal.org_id)
    return summary(db, live=request.app.state.live, now=now)


def _hours_in(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds() / 3600.0)


def summary(db: Session, *, live: Any, now: datetime,
            operator_org_id: str | None = None) -> dict[str, Any]:
    """The aggregates; ``operator_org_id`` limits them to the parks that organisation runs."""
    horizon = now + timedelta(hours=24)
    query = select(Resource.id, Resource.process, Resource.capacity)
    parks = select(Park.id)
    if operator_org_id is not None:
        parks = parks.where(Park.operator_org_id == operator_org_id)
        query = query.join(Factory).where(Factory.park_id.in_(parks))
    resources = db.execute(query).all()
    mine = {r.id for r in resources}
    release(db)  # no pooled connection held while Redis answers (or stalls)
    states = live.get_many([r.id for r in resources])
    idle: dict[str, float] = defaultdict(float)
    for rid, start, end in db.execute(
            select(ResourceWindow.resource_id, ResourceWindow.start, ResourceWindow.end)
            .where(ResourceWindow.end > now, ResourceWindow.start < horizon)):
        if rid in mine:
            idle[rid] += _hours_in(start, end, now, horizon)
    for rid, start, end in db.execute(
            select(Booking.resource_id, Booking.start, Booking.end)
            .where(Booking.status.in_(ACTIVE_STATES), Booking.end > now,
                   Booking.start < horizon)):
        if rid in mine:
            idle[rid] -= _hours_in(start, end, now, horizon)
    by_process: dict[str, dict[str, Any]] = {}
    status_counts: dict[str, int] = defaultdict(int)
    for rid, process, capacity in resources:
        row = by_process.setdefault(process, {
            "process": process, "name_en": processes.PROCESSES[process].en
            if process in processes.PROCESSES else process,
            "name_zh": processes.PROCESSES[process].zh if process in processes.PROCESSES else "",
            "resources": 0, "capacity": 0, "idle_hours_24h": 0.0, "_util": []})
        row["resources"] += 1
        row["capacity"] += capacity
        row["idle_hours_24h"] += max(0.0, idle.get(rid, 0.0)) * capacity
        state = states.get(rid)
        status_counts[state.status if state else "unknown"] += 1
        if state is not None and state.utilization is not None:
            row["_util"].append(state.utilization)
    for row in by_process.values():
        util = row.pop("_util")
        row["utilization"] = round(sum(util) / len(util), 3) if util else None
        row["idle_hours_24h"] = round(row["idle_hours_24h"], 1)
    orders = {} if operator_org_id is not None else {status: int(n) for status, n in db.execute(
        select(Order.status, func.count()).group_by(Order.status))}
    factories = select(func.count()).select_from(Factory)
    if operator_org_id is not None:
        factories = factories.where(Factory.park_id.in_(parks))
    return {
        "now": now.isoformat(),
        "parks": db.scalar(select(func.count()).select_from(parks.subquery())) or 0,
        "factories": db.scalar(factories) or 0,
        "resources": len(resources),
        "resources_by_status": dict(sorted(status_counts.items())),
        "orders_by_status": dict(sorted(orders.items())),
        "by_process": sorted(by_process.values(), key=lambda r: r["process"]),
    }
