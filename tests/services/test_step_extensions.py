"""The step extensions (per-resource cycle times ``minutes_per_piece_on``, ``only_on``:
docs/formats.md#scenario) are stored by the API, read back, checked (unknown resources, times
not above 0: 422, nothing written) and honoured by a quote, on SQLite and PostgreSQL
(``client`` runs both)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.services import builders as b
from tests.services.conftest import row_counts
from tests.services.test_bad_input_fuzzed import refused

FAST = {"time_limit_s": 0.5}


def _market(client: TestClient) -> None:
    """Two milling resources; R2 costs five times R1's hour, so only a restriction books it."""
    dear = {"time_share_per_hour": 500.0, "per_piece": None, "by_value_pct": None}
    created = client.post("/factories", json=b.factory("F1", resources=[
        b.resource("R1"), b.resource("R2", pricing=dear)]))
    assert created.status_code == 201, created.text


def _step(**extensions: Any) -> dict[str, Any]:
    return dict(b.step("s1", minutes_per_piece=2.0), **extensions)


def test_step_extensions__stored_and_read_back(client: TestClient) -> None:
    _market(client)
    step = _step(minutes_per_piece_on={"R2": 0.5, "R1": 3.0}, only_on=["R2"])
    created = client.post("/orders", json=b.order("OEXT", steps=[step]))
    assert created.status_code == 201, created.text
    (got,) = client.get("/orders/OEXT").json()["steps"]
    assert got["minutes_per_piece_on"] == {"R1": 3.0, "R2": 0.5}
    assert got["only_on"] == ["R2"]
    listed = [o for o in client.get("/orders").json() if o["id"] == "OEXT"]
    assert listed[0]["steps"][0]["only_on"] == ["R2"]
    # The scenario export carries them too (the format's extension, kept while not empty).
    exported = client.get("/scenario").json()
    (order,) = [o for o in exported["orders"] if o["id"] == "OEXT"]
    assert order["steps"][0]["minutes_per_piece_on"] == {"R1": 3.0, "R2": 0.5}


def test_step_extensions__unknown_resources_and_bad_times_are_422_and_write_nothing(
        client: TestClient) -> None:
    _market(client)
    before = row_counts(client)
    answer = refused(client.post("/orders", json=b.order("OEXT", steps=[
        _step(only_on=["R2", "NOPE-9", "NOPE-1"])])), 422, "only_on", "NOPE-1, NOPE-9")
    assert "R2" not in answer["detail"].split("resources:")[1]
    refused(client.post("/orders", json=b.order("OEXT", steps=[
        _step(minutes_per_piece_on={"GHOST": 1.0})])), 422, "minutes_per_piece_on", "GHOST")
    for bad in (0, -1.5):
        refused(client.post("/orders", json=b.order("OEXT", steps=[
            _step(minutes_per_piece_on={"R1": bad})])), 422, "minutes_per_piece_on")
    scenario = b.generated_scenario(n_factories=2, n_orders=1)
    scenario["orders"][0]["steps"][0]["only_on"] = ["NOT-IN-THE-MARKET"]
    refused(client.post("/scenario", json=scenario), 422, "only_on", "NOT-IN-THE-MARKET")
    assert row_counts(client) == before


def test_step_extensions__quote_books_the_step_only_on_r2(client: TestClient) -> None:
    _market(client)
    created = client.post("/orders", json=b.order("OEXT", steps=[_step(only_on=["R2"])]))
    assert created.status_code == 201, created.text
    answer = client.post("/orders/OEXT/quotes", params=FAST)
    assert answer.status_code == 201, answer.text
    used = {a["resource"] for q in answer.json() for a in q["plan"]["allocations"]}
    assert used == {"R2"}
    # The control: without the restriction the cheapest offer takes the cheaper R1.
    client.post("/orders", json=b.order("OFREE", steps=[_step()]))
    free = client.post("/orders/OFREE/quotes", params=FAST).json()
    (cheapest,) = [q for q in free if q["kind"] == "cheapest"]
    assert {a["resource"] for a in cheapest["plan"]["allocations"]} == {"R1"}


def test_step_extensions__quote_uses_the_resource_cycle_time(client: TestClient) -> None:
    _market(client)
    step = _step(minutes_per_piece_on={"R2": 6.0}, only_on=["R2"])
    client.post("/orders", json=b.order("OEXT", quantity=10, steps=[step]))
    answer = client.post("/orders/OEXT/quotes", params=FAST)
    assert answer.status_code == 201, answer.text
    for q in answer.json():
        minutes = sum((_t(a["end"]) - _t(a["start"])) for a in q["plan"]["allocations"]) / 60
        assert minutes == 10 * 6.0, q["plan"]  # not 10 * 2.0: R2's own time, setup 0


def _t(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
