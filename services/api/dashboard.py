"""The park operator's live dashboard: one static page polling ``/dashboard/data``.

Idle capacity is the hours of published windows in the next 24 h, minus the hours booked in
them; utilization is the mean the gateways report for resources with a live state.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import processes
from services.bookings.models import ACTIVE_STATES, Booking
from services.core.db import DbSession, release
from services.factories.models import Factory
from services.orders.models import Order
from services.parks.models import Park
from services.resources.models import Resource, ResourceWindow

router = APIRouter(tags=["dashboard"])
_PAGE = Path(__file__).with_name("dashboard.html")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def dashboard_page(request: Request) -> HTMLResponse:
    html = _PAGE.read_text(encoding="utf-8")
    refresh_ms = str(request.app.state.settings.dashboard_refresh_s * 1000)
    return HTMLResponse(html.replace("__REFRESH_MS__", refresh_ms))


@router.get("/dashboard/data")
def data(db: DbSession, request: Request) -> dict[str, Any]:
    """What the page shows, as JSON (also handy for scripts)."""
    now = request.app.state.clock()
    return summary(db, live=request.app.state.live, now=now)


def _hours_in(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds() / 3600.0)


def summary(db: Session, *, live: Any, now: datetime) -> dict[str, Any]:
    horizon = now + timedelta(hours=24)
    resources = db.execute(select(Resource.id, Resource.process, Resource.capacity)).all()
    release(db)  # no pooled connection held while Redis answers (or stalls)
    states = live.get_many([r.id for r in resources])
    idle: dict[str, float] = defaultdict(float)
    for rid, start, end in db.execute(
            select(ResourceWindow.resource_id, ResourceWindow.start, ResourceWindow.end)
            .where(ResourceWindow.end > now, ResourceWindow.start < horizon)):
        idle[rid] += _hours_in(start, end, now, horizon)
    for rid, start, end in db.execute(
            select(Booking.resource_id, Booking.start, Booking.end)
            .where(Booking.status.in_(ACTIVE_STATES), Booking.end > now,
                   Booking.start < horizon)):
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
    orders = {status: int(n) for status, n in db.execute(
        select(Order.status, func.count()).group_by(Order.status))}
    return {
        "now": now.isoformat(),
        "parks": db.scalar(select(func.count()).select_from(Park)) or 0,
        "factories": db.scalar(select(func.count()).select_from(Factory)) or 0,
        "resources": len(resources),
        "resources_by_status": dict(sorted(status_counts.items())),
        "orders_by_status": dict(sorted(orders.items())),
        "by_process": sorted(by_process.values(), key=lambda r: r["process"]),
    }
