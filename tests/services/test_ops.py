"""Operator surfaces: /metrics, the dashboard, health, and the demo park."""

from __future__ import annotations

from services.flows.demo import demo_factories, seed
from services.live.store import LiveState
from tests.services import builders as b
from tests.services.conftest import NOW, row_counts


def _metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in /metrics")


def test_metrics__resources_by_live_status_read_at_scrape_time(client, live):
    client.post("/scenario", json=b.example())
    live.put(LiveState("F1-L1", "down", None, NOW))
    live.put(LiveState("F2-AN1", "running", 0.7, NOW))
    text = client.get("/metrics").text
    assert _metric(text, 'sharefab_resources{status="down"}') == 1
    assert _metric(text, 'sharefab_resources{status="running"}') == 1
    assert _metric(text, 'sharefab_resources{status="unknown"}') == 2
    assert _metric(text, 'sharefab_orders{status="new"}') == 1
    live.put(LiveState("F1-L1", "idle", 0.0, NOW))
    text = client.get("/metrics").text
    assert _metric(text, 'sharefab_resources{status="down"}') == 0
    assert 'sharefab_http_requests_total{method="GET",route="/metrics"' in text


def test_dashboard__page_and_data(client, live):
    client.post("/scenario", json=b.example())
    live.put(LiveState("F1-CNC1", "running", 0.5, NOW))
    live.put(LiveState("F2-CNC1", "running", 0.3, NOW))
    # The old page is gone: / sends the browser to the web app (services/web).
    assert client.get("/", follow_redirects=False).headers["location"] == "/app"
    data = client.get("/dashboard/data").json()
    milling = next(p for p in data["by_process"] if p["process"] == "machining.cnc_milling")
    assert milling["utilization"] == 0.4
    # F1-CNC1: 2026-12-01 08-20 (12 h) inside the next 24 h; F2-CNC1: 2026-12-01 00-24 (24 h)
    assert milling["idle_hours_24h"] == 36.0
    assert data["resources_by_status"] == {"running": 2, "unknown": 2}
    assert data["orders_by_status"] == {"new": 1}


def test_health__ok(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_docs__openapi_lists_the_routers(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/parks", "/factories", "/resources/{resource_id}", "/orders",
                 "/orders/{order_id}/quotes", "/quotes/{quote_id}/accept", "/scenario"):
        assert path in paths


def test_demo__park_is_big_enough_and_seeding_is_idempotent(client):
    factories = demo_factories(NOW)
    assert len(factories) >= 20
    assert sum(len(f.resources) for f in factories) >= 100
    factory = client.app.state.session_factory
    assert seed(factory, now=NOW) is True
    counts = row_counts(client)
    assert seed(factory, now=NOW) is False
    assert row_counts(client) == counts
    assert counts["orders"] >= 3
    assert {f.park for f in factories} == {"NB-HT", "SZ-SIP"}


def test_demo__orders_can_be_quoted(client):
    seed(client.app.state.session_factory, now=NOW)
    answer = client.post("/orders/DEMO-O1/quotes", params={"time_limit_s": 1})
    assert answer.status_code == 201
    assert any(q["plan"]["status"] == "planned" for q in answer.json())
