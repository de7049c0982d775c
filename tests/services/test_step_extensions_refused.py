"""The step extensions the order table does not store (per-resource cycle times, ``only_on``)
are refused by the API with a 422 naming the field, and nothing is written, on SQLite and
PostgreSQL (``client`` runs both); scenario files for ``sharefab match`` take them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.services import builders as b
from tests.services.conftest import row_counts
from tests.services.test_bad_input_fuzzed import refused


def test_step_extensions__refused_by_post_orders_and_post_scenario(client: TestClient) -> None:
    before = row_counts(client)
    step = dict(b.step("s1", minutes_per_piece=2.0), minutes_per_piece_on={"R1": 1.0})
    refused(client.post("/orders", json=b.order("OEXT", steps=[step])), 422,
            "minutes_per_piece_on", "not stored")
    step = dict(b.step("s1", minutes_per_piece=2.0), only_on=["R1"])
    refused(client.post("/orders", json=b.order("OEXT", steps=[step])), 422, "only_on")
    scenario = b.generated_scenario(n_factories=2, n_orders=1)
    scenario["orders"][0]["steps"][0]["only_on"] = ["R1"]
    refused(client.post("/scenario", json=scenario), 422, "only_on")
    assert row_counts(client) == before
