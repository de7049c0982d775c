"""The park operator's API (/parks/{id}/utilization, heatmap, idle, down, orders, trends, live)
and the one definition of utilization it is built on (services/parks/utilization.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.bookings.models import Booking
from services.core.db import session_scope
from services.live.memory import InMemoryLiveStore
from services.live.store import LiveState
from services.orders.models import Order
from services.parks.utilization import Span, buckets, total, utilization
from tests.services import builders as b
from tests.services.auth_helpers import bearer, grant

T0 = datetime(2026, 12, 1, tzinfo=UTC)
NOW = T0  # the client fixture's clock


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# ---------------------------------------------------------------- the definition, in pairs
def test_utilization__a_lot_inside_a_published_window_counts() -> None:
    u = utilization(windows=[Span(at(8), at(20))], lots=[Span(at(10), at(13))], capacity=1,
                    start=at(0), end=at(24))
    assert (u.available_h, u.used_h, u.ratio) == (12.0, 3.0, 0.25)


def test_utilization__a_lot_outside_every_window_counts_for_nothing() -> None:
    u = utilization(windows=[Span(at(8), at(20))], lots=[Span(at(20), at(23))], capacity=1,
                    start=at(0), end=at(24))
    assert (u.available_h, u.used_h) == (12.0, 0.0)


def test_utilization__capacity_multiplies_the_published_hours() -> None:
    u = utilization(windows=[Span(at(8), at(12))], lots=[Span(at(8), at(12))], capacity=2,
                    start=at(0), end=at(24))
    assert (u.available_h, u.used_h, u.ratio) == (8.0, 4.0, 0.5)


def test_utilization__never_above_one_and_none_without_published_time() -> None:
    u = utilization(windows=[Span(at(8), at(10))],
                    lots=[Span(at(8), at(10)), Span(at(8), at(10))], capacity=1,
                    start=at(0), end=at(24))
    assert u.ratio == 1.0
    empty = utilization(windows=[], lots=[Span(at(8), at(10))], capacity=1, start=at(0),
                        end=at(24))
    assert empty.ratio is None


def test_utilization__overlapping_windows_count_once_and_totals_are_ratios_of_sums() -> None:
    u = utilization(windows=[Span(at(8), at(12)), Span(at(10), at(14))], lots=[], capacity=1,
                    start=at(0), end=at(24))
    assert u.available_h == 6.0
    small_busy = utilization(windows=[Span(at(8), at(9))], lots=[Span(at(8), at(9))],
                             capacity=1, start=at(0), end=at(24))
    big_idle = utilization(windows=[Span(at(0), at(9))], lots=[], capacity=1, start=at(0),
                           end=at(24))
    assert total([small_busy, big_idle]).ratio == pytest.approx(0.1)  # not (1 + 0) / 2


def test_utilization__buckets_cut_the_window() -> None:
    spans = buckets(at(0), at(2.5), timedelta(hours=1))
    assert [(s.start, s.end) for s in spans] == [(at(0), at(1)), (at(1), at(2)),
                                                  (at(2), at(2.5))]


# ---------------------------------------------------------------- the API
def _world(client: TestClient) -> dict[str, dict[str, str]]:
    """Two parks of two operators; PA has one machine with a 08-20 window and a 10-12 lot of
    an accepted order due at 11:00 (late)."""
    admin = client.headers
    for side in "AB":
        s = side.lower()
        grant(client.app, org_id=f"park-{s}", kind="park")  # type: ignore[arg-type]
        assert client.post("/parks", json={"id": f"P{side}", "operator": f"park-{s}"},
                           headers=admin).status_code == 201
        assert client.post("/factories", headers=admin, json=b.factory(
            f"F{side}", park=f"P{side}", resources=[b.resource(f"F{side}-R1")])).status_code \
            == 201
    assert client.post("/orders", json=b.order("OA", due=b._t(11))).status_code == 201
    with session_scope(client.app.state.session_factory) as db:  # type: ignore[attr-defined]
        db.get(Order, "OA").status = "accepted"  # type: ignore[union-attr]
        db.add(Booking(id="BK1", resource_id="FA-R1", order_id="OA", step_id="s1",
                       quantity=10, start=at(10), end=at(12), status="booked", cost=999.0))
    return {"park-a": bearer(grant(client.app, org_id="park-a", kind="park")),  # type: ignore[arg-type]
            "park-b": bearer(grant(client.app, org_id="park-b", kind="park")),  # type: ignore[arg-type]
            "sme": bearer(grant(client.app, org_id="sme-x", kind="sme"))}  # type: ignore[arg-type]


def test_park_api__utilization_by_hour_and_day(client: TestClient) -> None:
    who = _world(client)
    got = client.get("/parks/PA/utilization", headers=who["park-a"],
                     params={"start": at(0).isoformat(), "days": 2}).json()
    assert (got["available_h"], got["used_h"]) == (12.0, 2.0)  # the window of 12-02 is none
    assert got["utilization"] == pytest.approx(2 / 12, abs=1e-4)
    assert len(got["by_hour"]) == 48
    assert len(got["by_day"]) == 2
    assert [h["utilization"] for h in got["by_hour"][8:13]] == [0.0, 0.0, 1.0, 1.0, 0.0]
    assert got["by_hour"][0]["utilization"] is None  # nothing published at midnight
    assert got["by_day"][1]["utilization"] is None


def test_park_api__heatmap_idle_orders_trends(client: TestClient) -> None:
    who = _world(client)
    heat = client.get("/parks/PA/heatmap", headers=who["park-a"],
                      params={"start": at(0).isoformat(), "hours": 24}).json()
    assert [m["id"] for m in heat["machines"]] == ["FA-R1"]
    assert heat["cells"][0][10] == 1.0
    assert heat["cells"][0][9] == 0.0
    assert heat["cells"][0][3] is None
    idle = client.get("/parks/PA/idle", headers=who["park-a"],
                      params={"start": at(0).isoformat(), "days": 2}).json()
    assert idle["processes"] == [{"process": "machining.cnc_milling", "machines": 1,
                                  "idle_h": [10.0, 0.0], "available_h": [12.0, 0.0],
                                  "idle_h_total": 10.0}]
    orders = client.get("/parks/PA/orders", headers=who["park-a"]).json()
    assert (orders["in_flight"], orders["late"]) == (1, 1)
    assert orders["orders"][0]["order"] == "OA"
    assert orders["orders"][0]["late"] is True
    assert "999" not in str(orders)
    assert "value" not in orders["orders"][0]
    assert client.get("/parks/PB/orders", headers=who["park-b"]).json()["orders"] == []
    trends = client.get("/parks/PA/trends", headers=who["park-a"], params={"weeks": 3}).json()
    assert len(trends["weeks"]) == 3


def test_park_api__down_machines_with_since(client: TestClient, live: InMemoryLiveStore
                                            ) -> None:
    who = _world(client)
    assert client.get("/parks/PA/down", headers=who["park-a"]).json()["machines"] == []
    live.put(LiveState("FA-R1", "down", None, at(-2)))
    got = client.get("/parks/PA/down", headers=who["park-a"]).json()
    assert [(m["resource"], m["status"]) for m in got["machines"]] == [("FA-R1", "down")]
    assert got["machines"][0]["since"].startswith("2026-11-30T22:00")
    assert got["by_status"] == {"down": 1}
    # A later message of the same state keeps the since; a new state starts a new one.
    live.put(LiveState("FA-R1", "down", None, at(-1)))
    again = client.get("/parks/PA/down", headers=who["park-a"]).json()["machines"][0]
    assert again["since"].startswith("2026-11-30T22:00")
    assert again["last_seen"].startswith("2026-11-30T23:00")
    assert client.get("/parks/PB/down", headers=who["park-b"]).json()["machines"] == []


def test_park_api__another_operator_gets_404_an_sme_403(client: TestClient) -> None:
    who = _world(client)
    for route in ("utilization", "heatmap", "idle", "down", "orders", "trends"):
        assert client.get(f"/parks/PB/{route}", headers=who["park-a"]).status_code == 404
        assert client.get(f"/parks/PA/{route}", headers=who["sme"]).status_code == 403
        assert client.get(f"/parks/PB/{route}").status_code == 200  # the platform: all


def test_park_api__a_naive_start_is_a_422(client: TestClient) -> None:
    who = _world(client)
    resp = client.get("/parks/PA/utilization", headers=who["park-a"],
                      params={"start": "2026-12-01T00:00:00"})
    assert resp.status_code == 422
    assert "time zone" in resp.json()["detail"]


def _events(lines: Any, n: int) -> list[tuple[str, str]]:
    out, kind = [], ""
    for line in lines:
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            out.append((kind, line[6:]))
            if len(out) == n:
                break
    return out


def test_park_api__live_stream_pushes_a_snapshot_then_each_change(
        client: TestClient, live: InMemoryLiveStore) -> None:
    who = _world(client)
    live.put(LiveState("FA-R1", "running", 0.5, at(0)))
    with client.stream("GET", "/parks/PA/live", headers=who["park-a"],
                       params={"max_events": 2, "max_s": 30}) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = resp.iter_lines()
        events = _events(lines, 1)  # the snapshot, before the change
        live.put(LiveState("FA-R1", "down", None, at(0.1)))
        events += _events(lines, 1)
    assert [k for k, _ in events] == ["snapshot", "state"]
    assert '"status":"running"' in events[0][1]
    assert '"resource":"FA-R1"' in events[1][1]
    assert '"status":"down"' in events[1][1]
    assert client.get("/parks/PB/live", headers=who["park-a"],
                      params={"max_events": 1}).status_code == 404
