"""The FastAPI application: routers, error answers, limits, metrics, dashboard and lifespan.

At start the lifespan upgrades the schema (Alembic), opens the live-state store (Redis, or
fakeredis in-process when no Redis URL is set) and, in the embedded mode, starts the MQTT
runtime (ingest + work-order dispatch) in-process.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import Depends, FastAPI

from matching import engine as matching_engine
from services.api import dashboard, docs, errors, health, metrics, openapi_errors
from services.api.backpressure import BackPressure
from services.api.limits import BodySizeLimit
from services.api.nul_guard import RefuseNul
from services.audit.views import router as audit_router
from services.auth import install as auth_install
from services.auth.deps import authorize
from services.auth.views import router as auth_router
from services.bookings.dispatch import NullDispatcher
from services.bookings.views import router as bookings_router
from services.catalog.views import router as catalog_router
from services.core.clock import platform_clock
from services.core.db import engine_for, make_session_factory, migrate
from services.core.query import StrictQuery
from services.core.settings import Settings, get_settings
from services.events.views import router as events_router
from services.factories.views import router as factories_router
from services.live.deps import RedisFirst
from services.live.redis_store import make_live_store
from services.live.store import LiveStateStore
from services.orders.views import router as orders_router
from services.parks.views import router as parks_router
from services.quotes.runner import QuoteFn, QuoteRunner
from services.quotes.views import router as quotes_router
from services.ratings.views import router as ratings_router
from services.resources.views import router as resources_router
from services.scenario.market_cache import MarketCache
from services.scenario.views import router as scenario_router
from services.simulations.views import router as simulations_router
from services.web import views as web
from services.webhooks.views import router as webhooks_router
from services.workers.housekeeping import Housekeeper
from services.workers.match import BackgroundMatcher, MatchWorker, QuoteQueue, make_redis
from services.workers.mqtt_runtime import MqttRuntime

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, demo: bool = False,
               live: LiveStateStore | None = None, quote_fn: QuoteFn | None = None,
               clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The app; ``live``, ``quote_fn`` and ``clock`` are the seams tests swap."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = engine_for(settings)
        if settings.migrate_on_start:
            migrate(engine)
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        app.state.market_cache = None
        if settings.quote_market_cache_s > 0:
            app.state.market_cache = MarketCache(settings.quote_market_cache_s)
        app.state.live = live if live is not None else make_live_store(settings)
        app.state.metrics_registry = metrics.registry_for(app.state.live,
                                                          app.state.session_factory,
                                                          clock=lambda: app.state.clock())
        if demo:
            from services.flows.demo import seed
            from services.flows.demo_orgs import how_to, seed_orgs

            seed(app.state.session_factory, now=app.state.clock())
            demo_tokens = seed_orgs(app.state.session_factory, data_dir=settings.data_dir)
            print(how_to(demo_tokens, settings.data_dir / "demo-tokens.txt"), flush=True)
        app.state.quote_queue = QuoteQueue(
            make_redis(settings.redis_url, timeout_s=settings.redis_timeout_s),
            prefix=settings.redis_key_prefix,
            claim_idle_ms=int(settings.match_claim_idle_s * 1000),
            max_attempts=settings.match_max_attempts)
        matcher, runtime, housekeeper = None, None, None
        try:
            if settings.match_in_process:
                matcher = BackgroundMatcher(MatchWorker(
                    app.state.quote_queue, app.state.session_factory, app.state.live,
                    app.state.quote_runner.quote_fn, app.state.clock,
                    consumer=f"api-{os.getpid()}",
                    candidates_per_step=settings.quote_candidates_per_step))
                matcher.start()
            app.state.matcher = matcher
            runtime = await _start_mqtt(app, settings, demo)
            if settings.housekeeping_in_process:
                housekeeper = Housekeeper(
                    app.state.session_factory, settings, app.state.clock,
                    dispatch=lambda rows: app.state.dispatcher.dispatch(rows),
                    unavailable=app.state.live.unavailable)
                housekeeper.start()
            app.state.mqtt_runtime = runtime
            yield
        finally:  # also when a start step fails: nothing keeps running behind a dead app
            if housekeeper is not None:
                housekeeper.stop()
            if runtime is not None:
                await runtime.stop()
            if matcher is not None:
                matcher.stop()
            if (simulations := getattr(app.state, "simulations", None)) is not None:
                simulations.stop()  # started by the first POST /simulations
            engine.dispose()

    app = FastAPI(
        title="ShareFab", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
        # Every route runs the policy check of services.auth.policy first (default deny);
        # an unknown query parameter is a 422, never ignored.
        # RedisFirst: a route that needs Redis answers 503 before authentication while the
        # Redis circuit breaker is open (services.live.deps).
        dependencies=[RedisFirst, Depends(authorize), StrictQuery],
        description="Shared-manufacturing (共享制造) capacity platform: factories publish idle "
                    "capacity, orders are split by process step across factories.",
    )
    app.state.settings = settings
    app.state.clock = clock or platform_clock(settings)  # SHAREFAB_CLOCK_*: services.core.clock
    app.state.quote_runner = QuoteRunner(quote_fn or matching_engine.quote,
                                         settings.quote_concurrency,
                                         settings.quote_candidates_per_step)
    app.state.dispatcher = NullDispatcher()  # the MQTT runtime installs its own
    errors.install(app)
    auth_install.install(app)
    # Innermost first: NUL refusal buffers the body inside the size limit, which sits inside
    # the metrics middleware, next to the router that reads bodies.
    app.add_middleware(RefuseNul)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Inside the metrics middleware too: the 429s it answers are counted.
    app.add_middleware(BackPressure, settings=settings)
    app.middleware("http")(metrics.observe)
    for router in (parks_router, factories_router, resources_router, orders_router,
                   quotes_router, bookings_router, scenario_router, catalog_router,
                   dashboard.router, auth_router, audit_router, events_router,
                   webhooks_router, ratings_router, simulations_router):
        app.include_router(router)
    app.add_api_route("/metrics", metrics.render, methods=["GET"], include_in_schema=False)
    app.add_api_route("/healthz", health.healthz, methods=["GET"], tags=["ops"])
    app.add_api_route("/readyz", health.readyz, methods=["GET"], tags=["ops"],
                      responses={503: {"description": "a dependency is down (see checks)"}})
    docs.install(app)
    web.install(app)  # /app pages, /static assets and the / redirect
    openapi_errors.install(app)  # last: it post-processes the document of every route
    return app


async def _start_mqtt(app: FastAPI, settings: Settings, demo: bool) -> MqttRuntime | None:
    """Start the MQTT runtime in-process when enabled; it holds the work-order dispatcher."""
    if not settings.mqtt_enabled:
        return None
    runtime = MqttRuntime(settings, app.state.live, app.state.session_factory, demo=demo,
                          clock=app.state.clock)
    await runtime.start()
    app.state.dispatcher = runtime.dispatcher
    return runtime
