"""/metrics per park, factory and process, scraped for real and parsed with prometheus_client's
own parser; the expected numbers are worked out from what the API answers (GET /resources,
GET /bookings), not from the collector's code."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from services.api.fleet_metrics import OTHER, bound_groups, overlap_h
from services.live.memory import InMemoryLiveStore
from services.live.store import LiveState
from tests.services import builders as b
from tests.services.conftest import NOW

PROCESS = "machining.cnc_milling"


def scrape(client: TestClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """sample name -> {sorted labels: value}, through the Prometheus text parser."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            out[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return out


def key(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _world(client: TestClient) -> None:
    assert client.post("/parks", json={"id": "PA", "name": "Park A"}).status_code == 201
    for fid, rids in (("FA1", ["FA1-R1", "FA1-R2"]), ("FA2", ["FA2-R1"])):
        body = b.factory(fid, park="PA", resources=[
            b.resource(rid, windows=[(-30, -20), (-6, 6), (30, 40)]) for rid in rids])
        assert client.post("/factories", json=body).status_code == 201, body
    assert client.post("/orders", json=b.order("O1", parks=["PA"])).status_code == 201
    assert client.post("/orders", json=b.order("O2")).status_code == 201
    quotes = client.post("/orders/O1/quotes", params={"time_limit_s": 1}).json()
    planned = [q for q in quotes if q["plan"]["status"] == "planned"]
    assert planned, quotes
    assert client.post(f"/quotes/{planned[0]['id']}/accept").status_code < 300


def _expected_hours(client: TestClient) -> tuple[dict[str, float], dict[str, float],
                                                 dict[str, float], dict[str, float]]:
    """Per factory: available and booked hours, last 24 h and next 7 days, from the API."""
    lo, hi = NOW - timedelta(hours=24), NOW + timedelta(days=7)
    factory_of: dict[str, str] = {}
    avail_past: dict[str, float] = defaultdict(float)
    avail_ahead: dict[str, float] = defaultdict(float)
    for res in client.get("/resources").json():
        if not res["id"].startswith("FA"):
            continue
        factory_of[res["id"]] = res["factory"]
        for w in res["windows"]:
            start, end = datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])
            avail_past[res["factory"]] += overlap_h(start, end, lo, NOW)
            avail_ahead[res["factory"]] += overlap_h(start, end, NOW, hi)
    booked_past: dict[str, float] = defaultdict(float)
    booked_ahead: dict[str, float] = defaultdict(float)
    for lot in client.get("/bookings").json():
        factory = factory_of.get(lot["resource"])
        if factory is None or lot["status"] not in ("booked", "running", "done"):
            continue
        start, end = datetime.fromisoformat(lot["start"]), datetime.fromisoformat(lot["end"])
        booked_past[factory] += overlap_h(start, end, lo, NOW)
        booked_ahead[factory] += overlap_h(start, end, NOW, hi)
    return avail_past, booked_past, avail_ahead, booked_ahead


def test_fleet_metrics__per_park_factory_process_match_the_api(
        client: TestClient, live: InMemoryLiveStore) -> None:
    _world(client)
    live.put(LiveState("FA1-R1", "down", None, NOW))
    live.put(LiveState("FA2-R1", "running", 0.5, NOW))
    got = scrape(client)
    machines = got["sharefab_machines"]
    assert machines[key(park="PA", factory="FA1", process=PROCESS, status="down")] == 1
    assert machines[key(park="PA", factory="FA1", process=PROCESS, status="unknown")] == 1
    assert machines[key(park="PA", factory="FA2", process=PROCESS, status="running")] == 1
    avail_past, booked_past, avail_ahead, booked_ahead = _expected_hours(client)
    # per machine: (-30, -20) has 4 h inside the last 24 h, (-6, 6) has 6 h before NOW
    assert avail_past["FA1"] == 2 * (4 + 6)
    assert sum(booked_ahead.values()) > 0, "the accepted quote booked nothing ahead"
    for factory in ("FA1", "FA2"):
        labels: dict[str, Any] = {"park": "PA", "factory": factory, "process": PROCESS}
        assert got["sharefab_available_hours_24h"][key(**labels)] == round(avail_past[factory], 3)
        assert got["sharefab_booked_hours_24h"][key(**labels)] == round(booked_past[factory], 3)
        assert got["sharefab_utilization_ratio"][key(**labels)] == round(
            booked_past[factory] / avail_past[factory], 6)
        assert got["sharefab_idle_hours_7d"][key(**labels)] == round(
            max(0.0, avail_ahead[factory] - booked_ahead[factory]), 3)
    lots = sum(v for k, v in got["sharefab_lots_total"].items() if ("park", "PA") in k)
    assert lots == len([x for x in client.get("/bookings").json()
                        if x["resource"].startswith("FA")])
    orders = got["sharefab_orders_by_park"]
    state = client.get("/orders/O1").json()["status"]
    assert orders[key(park="PA", state=state)] == 1
    assert orders[key(park="any", state="new")] == 1  # O2 names no park
    assert got["sharefab_order_steps"][key(park="PA", process=PROCESS, state=state)] == 1
    assert got["sharefab_fleet_metrics_stale"][()] == 0


def test_fleet_metrics__counters_come_from_the_database_not_the_process(
        client: TestClient, live: InMemoryLiveStore) -> None:
    """A second app on the same database (a restarted or another worker process) scrapes the
    same lot totals: nothing restarts from zero with the process."""
    from services.api.app import create_app
    from tests.services.conftest import make_settings

    _world(client)
    first = scrape(client)["sharefab_lots_total"]
    url = str(client.app.state.engine.url.render_as_string(hide_password=False))  # type: ignore[attr-defined]
    other = create_app(make_settings(url), live=live, clock=lambda: NOW)
    with TestClient(other) as fresh:
        fresh.headers.update(client.headers)
        assert scrape(fresh)["sharefab_lots_total"] == first
    assert sum(first.values()) > 0


def test_bound_groups__factories_past_the_bound_fold_into_other() -> None:
    rows = [(f"R{i}", "P", f"F{i:02d}", "proc") for i in range(5)]
    groups = bound_groups(rows, max_groups=3)
    assert sorted(set(groups.values())) == [("P", "F00", "proc"), ("P", "F01", "proc"),
                                            ("P", "F02", "proc"), ("P", OTHER, "proc")]
    assert groups["R4"] == ("P", OTHER, "proc")


def test_dashboard__every_query_names_a_metric_we_export(
        client: TestClient, live: InMemoryLiveStore) -> None:
    """The provisioned Grafana dashboard's queries, against a real scrape of the API plus the
    default registry a worker process serves (its ingest and MQTT counters)."""
    import fakeredis
    from prometheus_client import REGISTRY, generate_latest

    import services.workers.ingest
    import services.workers.match  # noqa: F401  (what a worker process registers)
    from connectors.metrics import register_mqtt_metrics
    from connectors.state import RedisState
    from tests.docs.test_deploy import dashboard_metric_names

    # An ingest worker registers its Redis totals (sharefab_mqtt_*) like this at start.
    register_mqtt_metrics(RedisState(fakeredis.FakeRedis(), prefix="dash:"))
    _world(client)
    live.put(LiveState("FA1-R1", "down", None, NOW))
    client.post("/orders/O1/quotes", params={"time_limit_s": 0.5})  # a solve: its histogram
    exported = set(scrape(client))
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        exported |= {s.name for s in family.samples}
    used = dashboard_metric_names()
    assert len(used) >= 10
    assert used - exported == set(), "dashboard queries name metrics nobody exports"
