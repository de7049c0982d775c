"""/metrics: Prometheus text of the default registry plus gauges read at scrape time.

The live-state and database gauges sit in a per-app registry (read when scraped, so they are
never stale and several apps in one process do not collide); request counters and whatever the
MQTT runtime registers live in the default registry.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from fastapi import Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.core.db import session_scope
from services.core.metrics import BOOKING_CONFLICTS, BOOKINGS, QUOTE_SECONDS
from services.live.store import LiveStateStore
from services.orders.models import Order
from services.resources.models import Resource

REQUESTS = Counter("sharefab_http_requests", "HTTP requests answered",
                   ["method", "route", "status"])
LATENCY = Histogram("sharefab_http_request_seconds", "HTTP request latency", ["method", "route"])
__all__ = [
    "BOOKINGS",
    "BOOKING_CONFLICTS",
    "LATENCY",
    "QUOTE_SECONDS",
    "REQUESTS",
    "observe",
    "registry_for",
    "render",
]
STATUSES = ("idle", "running", "down", "offline", "unknown")


class MarketCollector(Collector):
    """sharefab_resources{status} from the live store, sharefab_orders{status} from the DB."""

    def __init__(self, live: LiveStateStore, session_factory: sessionmaker[Session]) -> None:
        self.live = live
        self.session_factory = session_factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with session_scope(self.session_factory) as db:
            total = db.scalar(select(func.count()).select_from(Resource)) or 0
            orders = {status: int(n) for status, n in db.execute(
                select(Order.status, func.count()).group_by(Order.status))}
        counts = self.live.count_by_status()
        resources = GaugeMetricFamily("sharefab_resources", "Resources by live status",
                                      labels=["status"])
        for status in STATUSES[:-1]:
            resources.add_metric([status], counts.get(status, 0))
        resources.add_metric(["unknown"], max(0, total - sum(counts.values())))
        yield resources
        by_status = GaugeMetricFamily("sharefab_orders", "Orders by status", labels=["status"])
        for status, n in sorted(orders.items()):
            by_status.add_metric([status], n)
        yield by_status


def registry_for(live: LiveStateStore, session_factory: sessionmaker[Session]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MarketCollector(live, session_factory))
    return registry


def render(request: Request) -> Response:
    body = generate_latest(REGISTRY) + generate_latest(request.app.state.metrics_registry)
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)


async def observe(request: Request,
                  call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Middleware counting requests by route template (never by raw path: bounded labels)."""
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    template = getattr(route, "path", "unmatched")
    REQUESTS.labels(request.method, template, str(response.status_code)).inc()
    LATENCY.labels(request.method, template).observe(time.perf_counter() - started)
    return response
