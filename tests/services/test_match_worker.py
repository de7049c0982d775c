"""Queued quote requests: the API enqueues (202), matcher workers solve, store and XACK.

The stream logic runs once on the in-process fakeredis (what the embedded mode uses) and once
on the real Redis for the take-over of a dead worker's entries (XAUTOCLAIM).
"""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient

from matching import engine as matching_engine
from services.api.app import create_app
from services.quotes.runner import DEFAULT_CANDIDATES
from services.workers.match import MatchWorker, QuoteQueue, make_redis
from tests.services import builders as b
from tests.services.auth_helpers import as_platform
from tests.services.conftest import NOW, make_settings


def _worker(client, queue: QuoteQueue, consumer: str = "w1") -> MatchWorker:
    state = client.app.state
    return MatchWorker(queue, state.session_factory, state.live, matching_engine.quote,
                       state.clock, consumer=consumer)


def test_queued_quote__202_then_worker_stores_alternatives(client):
    client.post("/scenario", json=b.example())
    answer = client.post("/orders/O1/quotes", params={"wait": "false", "time_limit_s": 0.5})
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "queued"
    assert answer.headers["location"] == "/orders/O1/quotes"
    assert client.get("/orders/O1/quotes").json() == []
    queue = client.app.state.quote_queue
    assert _worker(client, queue).run_once(block_ms=10) == 1
    assert sorted(q["kind"] for q in client.get("/orders/O1/quotes").json()) == \
        ["balanced", "cheapest", "fastest"]
    assert queue.pending() == 0


def test_queued_quote__unknown_order_refused_before_queueing(client):
    answer = client.post("/orders/NOPE/quotes", params={"wait": "false"})
    assert answer.status_code == 404
    assert client.app.state.quote_queue.client.xlen(client.app.state.quote_queue.stream) == 0


def test_queued_quote__request_that_cannot_succeed_is_dead_lettered(client):
    queue = client.app.state.quote_queue
    queue.submit(order_id="GHOST", time_limit_s=0.5)
    assert _worker(client, queue).run_once(block_ms=10) == 1
    dead = queue.client.xrange(queue.dead)
    assert len(dead) == 1
    assert "GHOST" in dead[0][1]["reason"]
    assert queue.pending() == 0


def test_embedded_matcher_thread_answers_queued_requests(database_url, live):
    settings = make_settings(database_url).model_copy(update={"match_in_process": True})
    with TestClient(create_app(settings, live=live, clock=lambda: NOW)) as client:
        as_platform(client)
        client.post("/scenario", json=b.example())
        assert client.post("/orders/O1/quotes", params={"wait": "false", "time_limit_s": 0.3}
                           ).status_code == 202
        deadline, quotes = time.monotonic() + 30, list[object]()
        while time.monotonic() < deadline and not quotes:
            time.sleep(0.2)
            quotes = client.get("/orders/O1/quotes").json()
        assert len(quotes) == 3


@pytest.mark.redis
def test_real_redis__entries_of_a_dead_worker_are_taken_over(client, redis_url):
    queue = QuoteQueue(make_redis(redis_url), prefix=f"t{uuid.uuid4().hex[:8]}:",
                       claim_idle_ms=50)
    try:
        client.post("/scenario", json=b.example())
        queue.submit(order_id="O1", time_limit_s=0.3)
        taken = queue.take("dead-worker", block_ms=10)  # read, then "crash" before XACK
        assert len(taken) == 1
        assert queue.pending() == 1
        time.sleep(0.1)
        assert _worker(client, queue, consumer="w2").run_once(block_ms=10) == 1
        assert queue.pending() == 0
        assert len(client.get("/orders/O1/quotes").json()) == 3
    finally:
        queue.client.delete(queue.stream, queue.dead)


def test_embedded_matcher__solves_with_the_settings_candidates_per_step(database_url, live):
    """SHAREFAB_QUOTE_CANDIDATES_PER_STEP reaches a wait=false quote's engine, not the default."""
    seen: list[int] = []

    def spy(scenario, order_id, *, options):
        seen.append(options.candidates_per_step)
        return matching_engine.quote(scenario, order_id, options=options)

    settings = make_settings(database_url).model_copy(
        update={"match_in_process": True, "quote_candidates_per_step": 7})
    assert settings.quote_candidates_per_step != DEFAULT_CANDIDATES
    with TestClient(create_app(settings, live=live, quote_fn=spy, clock=lambda: NOW)) as client:
        as_platform(client)
        client.post("/scenario", json=b.example())
        assert client.post("/orders/O1/quotes", params={"wait": "false", "time_limit_s": 0.3}
                           ).status_code == 202
        deadline, quotes = time.monotonic() + 30, list[object]()
        while time.monotonic() < deadline and not quotes:
            time.sleep(0.2)
            quotes = client.get("/orders/O1/quotes").json()
        assert len(quotes) == 3
    assert seen == [7]


def test_match_worker__runner_takes_the_candidates_given(client):
    """The separate worker (``sharefab worker match``) passes its settings' value the same way."""
    worker = MatchWorker(client.app.state.quote_queue, client.app.state.session_factory,
                         client.app.state.live, matching_engine.quote, client.app.state.clock,
                         consumer="w1", candidates_per_step=11)
    assert worker.solve.options(0.5).candidates_per_step == 11
    assert _worker(client, client.app.state.quote_queue).solve.candidates_per_step == \
        DEFAULT_CANDIDATES
