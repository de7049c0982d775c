"""services.flows.pricing: the one "price an order" flow the view and the matcher share."""

from __future__ import annotations

from typing import Any

import pytest

from domain.model import OrderPlan, OrderStatus
from matching import engine as matching_engine
from services.core.errors import InvalidError
from services.flows import pricing
from services.workers.match import MatchWorker
from tests.services import builders as b
from tests.services.conftest import row_counts

FAST = {"time_limit_s": 0.5}


def test_price_order__view_and_worker_both_run_the_flow(client, monkeypatch):
    client.post("/scenario", json=b.example())
    calls: list[dict[str, Any]] = []
    real = pricing.price_order

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(pricing, "price_order", spy)
    assert client.post("/orders/O1/quotes", params=FAST).status_code == 201
    state = client.app.state
    queue = state.quote_queue
    queue.submit(order_id="O2", time_limit_s=0.5)
    worker = MatchWorker(queue, state.session_factory, state.live, matching_engine.quote,
                         state.clock, consumer="w1")
    assert worker.run_once(block_ms=10) == 1
    assert [c["order_id"] for c in calls] == ["O1", "O2"]
    assert client.get("/orders/O2/quotes").json()


def test_price_order__unmatched_raises_with_reason_and_stores_nothing(client):
    client.post("/scenario", json=b.example())
    state = client.app.state
    before = row_counts(client)
    unmatched = matching_engine.Quote("cheapest", OrderPlan(
        "O1", OrderStatus.UNMATCHED, reason="step s2: no capacity"), {})

    with pytest.raises(pricing.UnmatchedError) as refused:
        pricing.price_order(state.session_factory, order_id="O1", time_limit_s=0.5,
                            solve=lambda market, order_id, limit: [unmatched] * 3,
                            unavailable=set, clock=state.clock)
    assert isinstance(refused.value, InvalidError)  # answered 422 by the API
    assert refused.value.reason == "step s2: no capacity"
    assert row_counts(client) == before


def test_worker__unmatched_request_is_dead_lettered_with_the_reason(client):
    client.post("/factories", json=b.factory("F1"))
    client.post("/orders", json=b.order("O1", steps=[b.step("s1", process="textile.sewing")]))
    queue = client.app.state.quote_queue
    queue.submit(order_id="O1", time_limit_s=0.5)
    state = client.app.state
    worker = MatchWorker(queue, state.session_factory, state.live, matching_engine.quote,
                         state.clock, consumer="w1")
    assert worker.run_once(block_ms=10) == 1
    (dead,) = queue.client.xrange(queue.dead)
    assert "cannot be matched" in dead[1]["reason"]
    assert client.get("/orders/O1/quotes").json() == []
