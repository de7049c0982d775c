"""Parks, factories, resources and orders over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from services.live.store import LiveState
from tests.services import builders as b
from tests.services.conftest import row_counts


def test_factory__post_design_object_then_get_returns_it(client):
    doc = b.factory("F7", resources=[b.resource("F7-R1", windows=[(8, 12), (20, 30)]),
                                     b.resource("F7-R2", process="surface.anodizing",
                                                capacity=4)])
    created = client.post("/factories", json=doc)
    assert created.status_code == 201, created.text
    assert created.json() == doc
    assert client.get("/factories/F7").json() == doc
    assert client.get("/parks/P9").json() == {"id": "P9", "name": "P9", "city": "",
                                              "operator": None, "factories": 1}


def test_factory__duplicate_id_conflicts(client):
    assert client.post("/factories", json=b.factory("F1")).status_code == 201
    again = client.post("/factories", json=b.factory("F1", resources=[]))
    assert again.status_code == 409
    assert "F1" in again.json()["detail"]


def test_factory__patch_and_delete_cascade_to_resources(client):
    client.post("/factories", json=b.factory("F1"))
    client.post("/parks", json={"id": "P2", "name": "Park 2", "city": ""})
    patched = client.patch("/factories/F1", json={"rating": 4.9, "park": "P2"})
    assert patched.status_code == 200
    assert (patched.json()["rating"], patched.json()["park"]) == (4.9, "P2")
    assert client.delete("/factories/F1").status_code == 204
    assert client.get("/resources/F1-R1").status_code == 404
    assert row_counts(client)["windows"] == 0


def test_factories__list_filters_by_park(client):
    for park in ("PA", "PB"):
        client.post("/parks", json={"id": park, "name": park, "city": ""})
    client.post("/factories", json=b.factory("F1", park="PA"))
    client.post("/factories", json=b.factory("F2", park="PB"))
    assert [f["id"] for f in client.get("/factories", params={"park": "PB"}).json()] == ["F2"]


def test_park__crud_and_delete_with_factories_conflicts(client):
    assert client.post("/parks", json={"id": "NB", "name": "Ningbo", "city": "Ningbo"}
                       ).status_code == 201
    assert client.patch("/parks/NB", json={"name": "Ningbo Hi-Tech"}).json()["name"] == \
        "Ningbo Hi-Tech"
    client.post("/factories", json=b.factory("F1", park="NB"))
    refused = client.delete("/parks/NB")
    assert refused.status_code == 409
    assert "factories" in refused.json()["detail"]
    client.delete("/factories/F1")
    assert client.delete("/parks/NB").status_code == 204
    assert client.get("/parks/NB").status_code == 404


def test_resource__create_update_windows_and_delete(client):
    client.post("/factories", json=b.factory("F1", resources=[]))
    doc = b.resource("F1-R9", process="forming.bending", windows=[(1, 2)])
    created = client.post("/resources", json={**doc, "factory": "F1"})
    assert created.status_code == 201, created.text
    assert created.json()["live"] is None
    new_windows = [{"start": "2026-12-03T00:00:00Z", "end": "2026-12-03T08:00:00Z"}]
    patched = client.patch("/resources/F1-R9", json={"capacity": 3, "windows": new_windows,
                                                     "pricing": {"per_piece": 2.5}})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["capacity"], body["windows"], body["pricing"]["per_piece"]) == \
        (3, new_windows, 2.5)
    assert client.delete("/resources/F1-R9").status_code == 204
    assert client.get("/resources/F1-R9").status_code == 404


def test_resource__get_carries_live_state(client, live):
    client.post("/factories", json=b.factory("F1"))
    seen = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    live.put(LiveState(resource="F1-R1", status="running", utilization=0.42, last_seen=seen))
    body = client.get("/resources/F1-R1").json()
    assert body["live"] == {"status": "running", "utilization": 0.42,
                            "last_seen": "2026-11-30T23:59:00Z"}
    assert body["factory"] == "F1"


def test_resources__filter_by_process(client):
    client.post("/factories", json=b.factory("F1", resources=[
        b.resource("R1"), b.resource("R2", process="cutting.laser")]))
    assert [r["id"] for r in client.get("/resources?process=cutting.laser").json()] == ["R2"]


def test_order__create_get_and_filter_by_status(client):
    doc = b.order("O1", steps=[b.step("a"), b.step("b", after=["a"])])
    created = client.post("/orders", json=doc)
    assert created.status_code == 201, created.text
    got = client.get("/orders/O1").json()
    assert got["status"] == "new"
    steps = got.pop("steps")
    assert {k: got[k] for k in doc if k != "steps"} == {k: v for k, v in doc.items()
                                                         if k != "steps"}
    # A read shows the step extensions too (docs/formats.md), empty for an order without them.
    assert [{k: s[k] for k in sent} for s, sent in zip(steps, doc["steps"], strict=True)] == \
        doc["steps"]
    assert all(s["minutes_per_piece_on"] == {} and s["only_on"] == [] for s in steps)
    assert [o["id"] for o in client.get("/orders", params={"status": "new"}).json()] == ["O1"]
    assert client.get("/orders", params={"status": "booked"}).json() == []


def test_unknown_ids__answer_404_naming_the_id(client):
    for path in ("/factories/NOPE", "/resources/NOPE", "/orders/NOPE", "/parks/NOPE",
                 "/quotes/NOPE", "/bookings/NOPE", "/orders/NOPE/quotes"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "NOPE" in answer.json()["detail"]
