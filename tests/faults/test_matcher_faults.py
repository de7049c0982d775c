"""Matcher jobs on the real Redis and PostgreSQL: a lease holds a live solve, kill -9 of a
worker mid-solve still answers every request exactly once, dead consumers are removed.

The workers of the kill test are real processes (spawned, so nothing of pytest's threads is
inherited); their quote function sleeps before solving, long past the claim time, and marks
in Redis when it is solving so the test kills one mid-solve.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import uuid
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from matching import engine as matching_engine
from services.api.app import create_app
from services.workers.match import MatchWorker, QuoteQueue, make_redis
from tests.faults.servers import wait_for
from tests.services import builders as b
from tests.services.auth_helpers import as_platform
from tests.services.conftest import NOW, make_settings

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

SOLVE_S = 2.5
CLAIM_IDLE_MS = 1000


def slow_quote(redis_url: str, marker: str, *args: Any, **kwargs: Any) -> Any:
    """The engine, after a pause that outlasts the claim time; says who is solving."""
    client = redis.Redis.from_url(redis_url)
    client.set(f"{marker}{os.getpid()}", "1", ex=30)
    time.sleep(SOLVE_S)
    kwargs["options"] = matching_engine.SolveOptions(time_limit_s=0.3)
    answer = matching_engine.quote(*args, **kwargs)
    client.delete(f"{marker}{os.getpid()}")
    return answer


def run_worker(db_url: str, redis_url: str, prefix: str, consumer: str) -> None:
    """A matcher process (the body of ``sharefab worker match`` with the slow engine)."""
    import functools

    from services.core.db import make_engine, make_session_factory
    from services.live.memory import InMemoryLiveStore

    engine = make_engine(db_url)
    queue = QuoteQueue(make_redis(redis_url), prefix=prefix, claim_idle_ms=CLAIM_IDLE_MS,
                       reap_idle_ms=500)
    worker = MatchWorker(queue, make_session_factory(engine), InMemoryLiveStore(),
                         functools.partial(slow_quote, redis_url, f"{prefix}solving:"),
                         lambda: NOW, consumer=consumer)
    worker.run(threading.Event(), block_ms=200)


@pytest.fixture
def pg_client(pg_schema_url: str, live: Any):
    engine = create_engine(pg_schema_url)
    with engine.begin() as conn:
        if conn.execute(text("SELECT to_regclass('quote_jobs')")).scalar() is not None:
            conn.execute(text("TRUNCATE quote_jobs, bookings, quotes, order_steps, orders, "
                              "windows, resources, factories, parks, market CASCADE"))
    engine.dispose()
    with TestClient(create_app(make_settings(pg_schema_url), live=live,
                               clock=lambda: NOW)) as client:
        as_platform(client)
        client.post("/scenario", json=b.example())
        yield client


def _count(client: TestClient, sql: str) -> int:
    with client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text(sql)).scalar_one())


def test_kill_9_mid_solve__every_request_answered_exactly_once(pg_client, pg_schema_url,
                                                               redis_url):
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    queue = QuoteQueue(make_redis(redis_url), prefix=prefix, claim_idle_ms=CLAIM_IDLE_MS)
    requests = [queue.submit(order_id="O1", time_limit_s=0.3) for _ in range(4)]
    ctx = multiprocessing.get_context("spawn")
    procs = {name: ctx.Process(target=run_worker, args=(pg_schema_url, redis_url, prefix, name),
                               daemon=True) for name in ("m1", "m2")}
    try:
        for proc in procs.values():
            proc.start()
        solving = f"{prefix}solving:"
        assert wait_for(lambda: bool(queue.client.keys(f"{solving}*")), 60), "nobody solved"
        victim_pid = int(str(queue.client.keys(f"{solving}*")[0]).rsplit(":", 1)[1])
        time.sleep(0.5)  # well inside the solve
        os.kill(victim_pid, signal.SIGKILL)
        victim = next(n for n, p in procs.items() if p.pid == victim_pid)
        assert wait_for(lambda: _count(pg_client, "SELECT count(*) FROM quote_jobs") == 4,
                        90), "not every request was answered"
        time.sleep(SOLVE_S + 1)  # a second solve of any request would have landed by now
        assert _count(pg_client, "SELECT count(*) FROM quote_jobs") == 4
        assert _count(pg_client, "SELECT count(*) FROM quotes") == 3 * 4  # not 6 per request
        with pg_client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
            ids = {r for (r,) in conn.execute(text("SELECT request_id FROM quote_jobs"))}
        assert ids == set(requests)
        assert _count(pg_client, "SELECT max(attempts) FROM quote_jobs") == 2  # one taken over
        assert queue.client.xlen(queue.dead) == 0
        assert wait_for(lambda: queue.pending() == 0, 10)
        names = lambda: {c["name"] for c in queue.client.xinfo_consumers(  # noqa: E731
            queue.stream, queue.group)}
        assert wait_for(lambda: victim not in names(), 15), f"dead consumer kept: {names()}"
    finally:
        for proc in procs.values():
            if proc.is_alive():
                proc.kill()
            proc.join(5)
        queue.client.delete(queue.stream, queue.dead)
        for k in queue.client.keys(f"{prefix}*"):
            queue.client.delete(k)


def test_lease__a_solve_longer_than_claim_idle_is_not_taken_over(pg_client, redis_url):
    queue = QuoteQueue(make_redis(redis_url), prefix=f"t{uuid.uuid4().hex[:8]}:",
                       claim_idle_ms=300)
    state = pg_client.app.state
    started = threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:
        started.set()
        time.sleep(1.5)  # five claim times
        return matching_engine.quote(*args, **kwargs)

    worker = MatchWorker(queue, state.session_factory, state.live, slow, state.clock, "a")
    try:
        queue.submit(order_id="O1", time_limit_s=0.3)
        solver = threading.Thread(target=worker.run_once, kwargs={"block_ms": 100})
        solver.start()
        assert started.wait(10)
        stolen = []
        while solver.is_alive():
            stolen += queue.take("b", block_ms=50)
        solver.join()
        assert stolen == [], "a live solve was taken over"
        assert worker.solved == 1
        assert _count(pg_client, "SELECT count(*) FROM quotes") == 3
    finally:
        queue.client.delete(queue.stream, queue.dead)


def test_second_solve_of_the_same_request_stores_nothing(pg_client, redis_url):
    queue = QuoteQueue(make_redis(redis_url), prefix=f"t{uuid.uuid4().hex[:8]}:",
                       claim_idle_ms=50)
    state = pg_client.app.state
    try:
        entry = queue.submit(order_id="O1", time_limit_s=0.3)
        fields = {"order": "O1", "time_limit_s": "0.3"}
        # The app's clock: the example's windows lie at NOW, so a wall clock would leave
        # this test to fail once the example's horizon is in the past.
        worker = MatchWorker(queue, state.session_factory, state.live, matching_engine.quote,
                             state.clock, "a")
        queue.take("a", block_ms=10)
        assert worker.handle(entry, fields)
        assert worker.handle(entry, fields)  # e.g. a crash between commit and XACK
        assert (worker.solved, worker.duplicates) == (1, 1)
        assert _count(pg_client, "SELECT count(*) FROM quotes") == 3
    finally:
        queue.client.delete(queue.stream, queue.dead)


def test_request_taken_over_too_often_is_dead_lettered_with_reason(pg_client, redis_url):
    queue = QuoteQueue(make_redis(redis_url), prefix=f"t{uuid.uuid4().hex[:8]}:",
                       claim_idle_ms=10, max_attempts=2)
    state = pg_client.app.state
    try:
        queue.submit(order_id="O1", time_limit_s=0.3)
        for crashed in ("c1", "c2"):  # each takes it and "dies" before answering
            assert queue.take(crashed, block_ms=10)
            time.sleep(0.05)
        worker = MatchWorker(queue, state.session_factory, state.live, matching_engine.quote,
                             state.clock, "w")
        assert worker.run_once(block_ms=10) == 1
        dead: Any = queue.client.xrange(queue.dead)
        assert len(dead) == 1
        assert "taken over 2 times" in dead[0][1]["reason"]
        assert _count(pg_client, "SELECT count(*) FROM quotes") == 0
        assert _count(pg_client, "SELECT count(*) FROM quote_jobs WHERE status = 'dead'") == 1
    finally:
        queue.client.delete(queue.stream, queue.dead)
