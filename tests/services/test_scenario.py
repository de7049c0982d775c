"""POST /scenario and GET /scenario: a scenario in, the same document out."""

from __future__ import annotations

from tests.services import builders as b
from tests.services.conftest import row_counts


def test_scenario__generated_50_factories_round_trip_field_for_field(client):
    doc = b.generated_scenario(n_factories=50)
    answer = client.post("/scenario", json=doc)
    assert answer.status_code == 200, answer.text
    assert answer.json()["factories"] == 50
    exported = client.get("/scenario").json()
    assert exported == doc
    # and the export imports again to the same thing
    assert client.post("/scenario", json=exported).status_code == 200
    assert client.get("/scenario").json() == doc


def test_scenario__example_file_round_trips(client):
    doc = b.example()
    assert client.post("/scenario", json=doc).status_code == 200
    assert client.get("/scenario").json() == doc


def test_scenario__merge_keeps_what_the_document_does_not_name(client):
    client.post("/factories", json=b.factory("KEEP"))
    doc = b.example()
    doc["factories"][0]["rating"] = 1.5
    client.post("/scenario", json=doc)
    doc["factories"][0]["rating"] = 3.5
    client.post("/scenario", json=doc)  # upsert by id: F1 replaced, KEEP untouched
    ids = [f["id"] for f in client.get("/factories").json()]
    assert ids == ["KEEP", "F1", "F2"]
    assert client.get("/factories/F1").json()["rating"] == 3.5


def test_scenario__replace_leaves_exactly_the_document(client):
    client.post("/factories", json=b.factory("GONE"))
    client.post("/orders", json=b.order("OLD"))
    doc = b.example()
    assert client.post("/scenario", params={"replace": "true"}, json=doc).status_code == 200
    assert client.get("/scenario").json() == doc
    assert row_counts(client)["factories"] == 2


def test_scenario__export_of_empty_market_is_valid_design_41(client):
    body = client.get("/scenario").json()
    assert body["factories"] == []
    assert body["orders"] == []
    assert body["horizon_start"] == "2026-12-01T00:00:00Z"
    assert client.post("/scenario", json=body).status_code == 200
