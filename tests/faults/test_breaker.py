"""The Redis circuit breaker (services.live.breaker): its states on a fake clock, and the API
on its own SIGSTOPped Redis answering 503 before any database work while it is open."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeout
from sqlalchemy import event
from sqlalchemy.orm import Session

from services.core.db import get_db
from services.live.breaker import CLOSED, HALF_OPEN, OPEN, BreakerOpenError, CircuitBreaker
from services.resources.models import Resource
from tests.faults.servers import OwnServer, wait_for
from tests.faults.test_api_faults import REDIS_TIMEOUT_S, _app
from tests.services import builders as b
from tests.services.auth_helpers import as_platform


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _breaker(probe: Any = lambda: True, cooldown_s: float = 3.0) -> tuple[CircuitBreaker, _Clock]:
    clock = _Clock()
    return CircuitBreaker(cooldown_s, probe=probe, clock=clock), clock


def _down() -> None:
    raise RedisTimeout("Timeout reading from socket")


def test_breaker__closed_passes_calls_and_a_wrong_type_reply_does_not_open_it() -> None:
    breaker, _ = _breaker()
    assert breaker.call(lambda: 7) == 7

    def wrong_type() -> None:
        raise ResponseError("WRONGTYPE")

    with pytest.raises(ResponseError):
        breaker.call(wrong_type)
    assert breaker.state == CLOSED
    assert breaker.opened_total == 0


@pytest.mark.parametrize("error", [RedisTimeout("slow"), RedisConnectionError("refused")])
def test_breaker__a_timeout_opens_it_and_calls_are_refused_without_running(
        error: Exception) -> None:
    breaker, clock = _breaker(cooldown_s=3.0)

    def fail() -> None:
        raise error

    with pytest.raises(type(error)):
        breaker.call(fail)
    assert breaker.state == OPEN
    assert breaker.opened_total == 1
    ran: list[int] = []
    clock.now += 1.2
    with pytest.raises(BreakerOpenError) as refused:
        breaker.call(lambda: ran.append(1))
    assert ran == []
    assert refused.value.retry_after_s == 2  # ceil(3.0 - 1.2)
    assert breaker.retry_after_s() == 2
    # A refusal is no new failure: the cool-down did not restart, nothing more was counted.
    assert breaker.opened_total == 1
    clock.now += 1.7  # 2.9 s in: still open
    with pytest.raises(BreakerOpenError) as refused:
        breaker.admit()
    assert refused.value.retry_after_s == 1


def test_breaker__after_the_cool_down_one_probe_closes_it() -> None:
    probes: list[int] = []
    breaker, clock = _breaker(probe=lambda: probes.append(1), cooldown_s=3.0)
    with pytest.raises(RedisTimeout):
        breaker.call(_down)
    clock.now += 3.0
    assert breaker.call(lambda: "answered") == "answered"
    assert probes == [1]
    assert breaker.state == CLOSED
    assert breaker.call(lambda: "again") == "again"
    assert probes == [1]  # closed: no more probes
    assert breaker.snapshot()["opened_total"] == 1


def test_breaker__a_failed_probe_reopens_it_for_another_cool_down() -> None:
    breaker, clock = _breaker(probe=_down, cooldown_s=3.0)
    with pytest.raises(RedisTimeout):
        breaker.call(_down)
    clock.now += 3.5
    with pytest.raises(BreakerOpenError) as refused:
        breaker.admit()
    assert refused.value.retry_after_s == 3
    assert breaker.state == OPEN
    assert (breaker.opened_total, breaker.probes_failed_total) == (1, 1)
    clock.now += 2.0  # the cool-down restarted at the failed probe
    with pytest.raises(BreakerOpenError):
        breaker.admit()
    assert breaker.probes_failed_total == 1  # no probe ran inside the cool-down
    snapshot = breaker.snapshot()
    assert snapshot["state"] == OPEN
    assert "Timeout" in str(snapshot["last_error"])


def test_breaker__while_the_probe_runs_everyone_else_is_refused() -> None:
    started, release = threading.Event(), threading.Event()

    def slow_probe() -> None:
        started.set()
        assert release.wait(5)

    breaker, clock = _breaker(probe=slow_probe, cooldown_s=1.0)
    with pytest.raises(RedisTimeout):
        breaker.call(_down)
    clock.now += 1.0
    prober = threading.Thread(target=breaker.admit)
    prober.start()
    assert started.wait(5)
    assert breaker.state == HALF_OPEN
    with pytest.raises(BreakerOpenError):
        breaker.admit()
    release.set()
    prober.join(5)
    assert breaker.state == CLOSED
    breaker.admit()


# --- the API on its own Redis ---------------------------------------------------------------

BREAKER_S = 1.5




def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.mark.postgres
@pytest.mark.slow
def test_breaker_open__redis_routes_answer_503_before_any_database_work(pg_schema_url, rds):
    sessions: list[int] = []
    rows_loaded: list[int] = []

    def counting_db(request: Request) -> Iterator[Any]:  # the request's session (DbSession)
        sessions.append(1)
        yield from get_db(request)

    def loaded(*_: Any) -> None:
        rows_loaded.append(1)

    def begun(*_: Any) -> None:  # any transaction at all, authentication's included
        transactions.append(1)

    transactions: list[int] = []
    event.listen(Resource, "load", loaded)
    event.listen(Session, "after_begin", begun)
    try:
        with _app(pg_schema_url, rds, redis_breaker_s=BREAKER_S, quote_tenant_max=50,
                  quote_queue_max=50) as client:
            _scenario(client, counting_db)
            _through_the_stall(client, rds, sessions, rows_loaded, transactions)
    finally:
        event.remove(Resource, "load", loaded)
        event.remove(Session, "after_begin", begun)


def _scenario(client: TestClient, counting_db: Any) -> None:
    client.app.dependency_overrides[get_db] = counting_db  # type: ignore[attr-defined]
    as_platform(client)
    assert client.post("/scenario", json=b.example()).status_code in (200, 201)


def _through_the_stall(client: TestClient, rds: OwnServer, sessions: list[int],
                       rows_loaded: list[int], transactions: list[int]) -> None:
    breaker = client.app.state.live.breaker  # type: ignore[attr-defined]
    assert client.get("/resources").status_code == 200
    assert sessions
    assert rows_loaded
    assert transactions
    rds.stall()
    try:
        first = client.get("/resources")  # loads its rows, then times out on Redis
        assert first.status_code == 503
        assert breaker.state == OPEN
        before = (len(sessions), len(rows_loaded), len(transactions))
        answers = []
        for _ in range(3):
            for method, url in (("GET", "/resources"), ("GET", "/dashboard/data"),
                                ("GET", "/resources/R1"),
                                ("POST", "/orders/O1/quotes?time_limit_s=0.2"),
                                ("POST", "/orders/O1/quotes?wait=false")):
                started = time.perf_counter()
                answer = client.request(method, url)
                answers.append((url, answer, time.perf_counter() - started))
        # No request session, no row, not even authentication's key lookup (RedisFirst).
        assert (len(sessions), len(rows_loaded), len(transactions)) == before, \
            "database work for a 503"
        for url, answer, seconds in answers:
            assert answer.status_code == 503, (url, answer.text)
            assert answer.json()["dependency"] == "redis"
            assert 1 <= int(answer.headers["retry-after"]) <= 2
            assert seconds < REDIS_TIMEOUT_S, (url, seconds)  # no Redis timeout waited
        ready = client.get("/readyz").json()["checks"]["redis"]
        assert not ready["ok"]
        assert ready["breaker"]["state"] == OPEN
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert _metric(metrics.text, 'sharefab_redis_breaker_state{state="open"}') == 1
        assert _metric(metrics.text, "sharefab_redis_breaker_opened_total") == 1
        # After the cool-down the probe finds Redis still stalled: open again, counted.
        time.sleep(BREAKER_S)
        assert client.get("/resources").status_code == 503
        assert breaker.probes_failed_total >= 1
        assert breaker.state == OPEN
    finally:
        rds.resume()
    assert wait_for(lambda: client.get("/resources").status_code == 200, BREAKER_S + 5)
    assert breaker.state == CLOSED
    assert breaker.opened_total == 1
    ready = client.get("/readyz").json()["checks"]["redis"]
    assert ready["ok"], ready
    assert ready["breaker"]["state"] == CLOSED
    metrics = client.get("/metrics").text
    assert _metric(metrics, 'sharefab_redis_breaker_state{state="closed"}') == 1
