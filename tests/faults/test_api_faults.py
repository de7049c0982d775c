"""The API with its own Redis stalled (SIGSTOP) or killed: database-only endpoints stay fast,
Redis endpoints answer 503 JSON + Retry-After within their timeout, /metrics keeps answering,
and /readyz goes red and green with the dependency.
"""

from __future__ import annotations

import contextvars
import statistics
import threading
import time
from typing import Any

import pytest
import redis.connection
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from services.api.app import create_app
from services.workers import heartbeat
from tests.faults.servers import OwnServer, wait_for
from tests.services import builders as b
from tests.services.auth_helpers import as_platform
from tests.services.conftest import NOW, make_settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REDIS_TIMEOUT_S = 0.5




def _app(pg_schema_url: str, rds: OwnServer, wrap: Any = None, **overrides: Any
         ) -> TestClient:
    """The API on its own Redis. (The stall test raises the quote admission bounds: 18
    concurrent quote requests of one test client would otherwise get 429 first, correctly.)"""
    engine = create_engine(pg_schema_url)
    with engine.begin() as conn:
        if conn.execute(text("SELECT to_regclass('quote_jobs')")).scalar() is not None:
            conn.execute(text("TRUNCATE quote_jobs, bookings, quotes, order_steps, orders, "
                              "windows, resources, factories, parks, market CASCADE"))
    engine.dispose()
    settings = make_settings(pg_schema_url).model_copy(update={
        "redis_url": f"redis://127.0.0.1:{rds.port}/0", "redis_timeout_s": REDIS_TIMEOUT_S,
        **overrides})
    app = create_app(settings, clock=lambda: NOW)
    return TestClient(app if wrap is None else wrap(app))


def _timed(client: TestClient, method: str, url: str) -> tuple[int, float, Any]:
    started = time.perf_counter()
    answer = client.request(method, url)
    return answer.status_code, time.perf_counter() - started, answer


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _mix(client: TestClient, *, quotes: bool
         ) -> tuple[list[tuple[int, float, Any]], list[tuple[int, float, Any]]]:
    """40 GET /orders (database only) while 6 threads call Redis-backed endpoints (and ask
    for quotes: only while Redis is stalled, else they would solve and load the CPU)."""
    redis_calls: list[tuple[int, float, Any]] = []

    def hammer_redis() -> None:  # the callers that used to pin database sessions
        for url in ("/resources", "/dashboard/data") * 3:
            redis_calls.append(_timed(client, "GET", url))
        for _ in range(3 if quotes else 0):
            redis_calls.append(_timed(client, "POST", "/orders/O1/quotes?time_limit_s=0.2"))

    threads = [threading.Thread(target=hammer_redis) for _ in range(6)]
    for t in threads:
        t.start()
    db_only = [_timed(client, "GET", "/orders") for _ in range(40)]
    for t in threads:
        t.join(60)
    return db_only, redis_calls


def test_redis_stall__db_endpoints_fast_quotes_503_within_timeout_metrics_answer(
        pg_schema_url, rds):
    with _app(pg_schema_url, rds, quote_tenant_max=50, quote_queue_max=50) as client:
        as_platform(client)
        assert client.post("/scenario", json=b.example()).status_code in (200, 201)
        healthy, _ = _mix(client, quotes=False)
        rds.stall()
        try:
            db_only, redis_calls = _mix(client, quotes=True)
            metrics = _timed(client, "GET", "/metrics")
        finally:
            rds.resume()
        assert {s for s, _, _ in db_only} == {200}
        # The structure, not a timing target (bench/stall.py measures the p95 beside a healthy
        # baseline, with the load average): GET /orders never waits on Redis, so its typical
        # request stays far below one Redis timeout (each wait on Redis would cost a whole
        # one). Holding sessions across the stall took 28 s.
        baseline, stalled = _p95([d for _, d, _ in healthy]), _p95([d for _, d, _ in db_only])
        median = statistics.median(d for _, d, _ in db_only)
        print(f"GET /orders beside Redis callers: p95 Redis healthy {baseline * 1000:.0f} ms, "
              f"stalled {stalled * 1000:.0f} ms (median {median * 1000:.0f} ms)")
        assert median < REDIS_TIMEOUT_S / 2, (median, stalled)
        assert {s for s, _, _ in redis_calls} == {503}
        for _, seconds, answer in redis_calls:
            assert answer.json()["dependency"] == "redis"
            assert int(answer.headers["retry-after"]) > 0
            # one Redis call per request, each bounded by the socket timeout
            assert seconds < 4 * REDIS_TIMEOUT_S + 1.0, seconds
        status, seconds, answer = metrics
        assert status == 200
        assert seconds < 3
        assert 'sharefab_metrics_stale{source="live"} 1.0' in answer.text
        assert 'sharefab_metrics_stale{source="database"} 0.0' in answer.text
        # Back once Redis is, after the breaker's cool-down (services.live.breaker).
        assert wait_for(lambda: client.get("/resources").status_code == 200, 10)


REQUEST_PATH: contextvars.ContextVar[str] = contextvars.ContextVar("path", default="")


def test_redis_stall__database_only_requests_send_no_redis_command(pg_schema_url, rds,
                                                                    monkeypatch):
    """Nothing in the path of GET /orders (middleware, auth, route) talks to Redis.

    Every command any Redis client sends goes through ``Connection.send_packed_command``;
    the request's path rides along in a context variable (copied into the thread a sync
    route runs in), so a command sent for GET /orders is caught whichever thread sends it.
    The same probe sees the commands of GET /resources: the probe itself works.
    """
    sent: list[str] = []
    original = redis.connection.Connection.send_packed_command

    def probe(self: Any, command: Any, check_health: bool = True) -> None:
        sent.append(REQUEST_PATH.get())
        original(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", probe)

    def tagging(inner: Any) -> Any:
        async def tagged(scope: Any, receive: Any, send: Any) -> None:
            token = REQUEST_PATH.set(f"{scope.get('method', '')} {scope.get('path', '')}")
            try:
                await inner(scope, receive, send)
            finally:
                REQUEST_PATH.reset(token)
        tagged.state = inner.state  # type: ignore[attr-defined]  # auth_helpers reads it
        return tagged

    with _app(pg_schema_url, rds, wrap=tagging) as client:
        as_platform(client)
        assert client.post("/scenario", json=b.example()).status_code in (200, 201)
        assert client.get("/resources").status_code == 200
        assert "GET /resources" in sent, sent
        rds.stall()
        try:
            timings = [_timed(client, "GET", "/orders") for _ in range(20)]
        finally:
            rds.resume()
    assert {status for status, _, _ in timings} == {200}
    assert [p for p in sent if p.startswith("GET /orders")] == []
    # No Redis call, so no Redis timeout (0.5 s) in any of them.
    assert max(seconds for _, seconds, _ in timings) < REDIS_TIMEOUT_S


def test_readyz__red_and_green_with_redis(pg_schema_url, rds):
    with _app(pg_schema_url, rds, match_in_process=True) as client:
        as_platform(client)
        answer = client.get("/readyz")
        assert answer.status_code == 200, answer.json()
        assert answer.json()["status"] == "ready"
        rds.stall()
        try:
            started = time.perf_counter()
            answer = client.get("/readyz")
            assert time.perf_counter() - started < 3.5
            assert answer.status_code == 503
            assert answer.headers["retry-after"]
            checks = answer.json()["checks"]
            assert not checks["redis"]["ok"]
            assert checks["database"]["ok"]
            assert client.get("/healthz").status_code == 200  # alive, just not ready
        finally:
            rds.resume()
        assert wait_for(lambda: client.get("/readyz").status_code == 200, 10)
        rds.kill()
        assert client.get("/readyz").status_code == 503
        rds.start()
        assert wait_for(lambda: client.get("/readyz").status_code == 200, 10)


def test_readyz__needs_a_live_matcher_heartbeat_when_matching_runs_outside(pg_schema_url,
                                                                           rds):
    with _app(pg_schema_url, rds, match_in_process=False) as client:
        as_platform(client)
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert "match" in answer.json()["checks"]["workers"]["detail"]
        redis_client = client.app.state.quote_queue.client  # type: ignore[attr-defined]
        heartbeat.beat(redis_client, "sharefab:", "match", "m1", ttl_s=1.0)
        assert client.get("/readyz").status_code == 200
        time.sleep(1.2)  # the worker stopped beating: its key expired
        assert client.get("/readyz").status_code == 503
