"""/metrics: Prometheus text of the default registry plus gauges read at scrape time.

The live-state and database gauges sit in a per-app registry (read when scraped, so they are
never stale and several apps in one process do not collide); request counters and whatever the
MQTT runtime registers live in the default registry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

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

from services.api.fleet_metrics import FleetCollector
from services.core.db import session_scope
from services.core.metrics import BOOKING_CONFLICTS, BOOKINGS, QUOTE_SECONDS
from services.live.breaker_metrics import BreakerCollector
from services.live.deps import breaker_of
from services.live.store import LiveStateStore
from services.orders.models import Order
from services.resources.models import Resource

log = logging.getLogger(__name__)

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
    """sharefab_resources{status} from the live store, sharefab_orders{status} from the DB.

    A scrape never fails because a dependency is down (issue 12: losing /metrics hides the
    outage from Prometheus): each source that does not answer is served from its last good
    reading, and ``sharefab_metrics_stale{source}`` says 1 with ``sharefab_metrics_age_seconds``
    how old that reading is.
    """

    def __init__(self, live: LiveStateStore, session_factory: sessionmaker[Session]) -> None:
        self.live = live
        self.session_factory = session_factory
        self._last: dict[str, Any] = {"database": (0, {}), "live": {}}
        self._read_at: dict[str, float] = {"database": 0.0, "live": 0.0}

    def _read(self, source: str, read: Callable[[], Any]) -> tuple[Any, bool]:
        try:
            value = read()
        except Exception as exc:  # any dependency error: serve the last reading, marked
            log.warning("metrics: %s unavailable (%s: %s); serving the last reading",
                        source, type(exc).__name__, exc)
            return self._last[source], True
        self._last[source], self._read_at[source] = value, time.time()
        return value, False

    def _database(self) -> tuple[int, dict[str, int]]:
        with session_scope(self.session_factory) as db:
            total = db.scalar(select(func.count()).select_from(Resource)) or 0
            orders = {status: int(n) for status, n in db.execute(
                select(Order.status, func.count()).group_by(Order.status))}
        return total, orders

    def collect(self) -> Iterator[GaugeMetricFamily]:
        (total, orders), db_stale = self._read("database", self._database)
        counts, live_stale = self._read("live", self.live.count_by_status)
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
        stale = GaugeMetricFamily("sharefab_metrics_stale",
                                  "1 when the source did not answer this scrape",
                                  labels=["source"])
        age = GaugeMetricFamily("sharefab_metrics_age_seconds",
                                "Age of the source's reading served (last good one if stale)",
                                labels=["source"])
        now = time.time()
        for source, is_stale in (("database", db_stale), ("live", live_stale)):
            stale.add_metric([source], int(is_stale))
            read_at = self._read_at[source]
            age.add_metric([source], round(now - read_at, 3) if read_at else float("inf"))
        yield stale
        yield age


def registry_for(live: LiveStateStore, session_factory: sessionmaker[Session],
                 clock: Callable[[], datetime] | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MarketCollector(live, session_factory))
    registry.register(FleetCollector(live, session_factory,
                                     clock or (lambda: datetime.now(UTC))))
    if (breaker := breaker_of(live)) is not None:
        registry.register(BreakerCollector(breaker))
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
