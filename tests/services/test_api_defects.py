"""The API defects of issue 9, each pinned by a test that failed on the code before the fix."""

from __future__ import annotations

from typing import Any

from domain.schemas import format_utc
from services.bookings.dispatch import RecordingDispatcher, get_dispatcher
from tests.services import builders as b
from tests.services.conftest import NOW, row_counts

FAST = {"time_limit_s": 0.5}


def _market(client, *, pricing: dict[str, Any] | None = None) -> None:
    resource = b.resource("R1", windows=[(8, 40)])
    if pricing is not None:
        resource["pricing"] = pricing
    assert client.post("/factories", json=b.factory("F1", resources=[resource])
                       ).status_code == 201


# --- PATCH /resources merges pricing -------------------------------------------------------

def test_patch_resource__pricing_merges_the_given_modes_only(client):
    _market(client)
    patched = client.patch("/resources/R1", json={"pricing": {"per_piece": 0.5}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["pricing"] == {"time_share_per_hour": 100.0, "per_piece": 0.5,
                                         "by_value_pct": None}
    assert client.get("/resources/R1").json()["pricing"]["time_share_per_hour"] == 100.0


def test_patch_resource__explicit_null_withdraws_one_mode(client):
    _market(client, pricing={"time_share_per_hour": 100.0, "per_piece": 2.0,
                             "by_value_pct": None})
    patched = client.patch("/resources/R1", json={"pricing": {"time_share_per_hour": None}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["pricing"] == {"time_share_per_hour": None, "per_piece": 2.0,
                                         "by_value_pct": None}


def test_patch_resource__withdrawing_the_last_mode_is_422_and_keeps_it(client):
    _market(client)
    refused = client.patch("/resources/R1", json={"pricing": {"time_share_per_hour": None}})
    assert refused.status_code == 422
    assert "pricing offers no mode" in refused.json()["detail"]
    assert client.get("/resources/R1").json()["pricing"]["time_share_per_hour"] == 100.0


# --- due dates ---------------------------------------------------------------------------------

def test_post_order__due_in_the_past_is_422_naming_the_field(client):
    for due in ("0001-01-01T00:00:00Z", "2026-11-30T23:00:00Z", format_utc(NOW)):
        answer = client.post("/orders", json=b.order("O1", due=due))
        assert answer.status_code == 422, due
        assert answer.json()["errors"][0]["field"] == "body.due"
        assert "future" in answer.json()["detail"]
    assert client.get("/orders/O1").status_code == 404


def test_scenario_import__keeps_historical_due_dates(client):
    doc = b.example()
    doc["orders"][0]["due"] = "2026-01-01T00:00:00Z"
    assert client.post("/scenario", json=doc).status_code == 200
    assert client.get(f"/orders/{doc['orders'][0]['id']}").json()["due"] == \
        "2026-01-01T00:00:00Z"


def test_quote__total_cost_is_the_breakdown_total_and_the_parts_add_up(client):
    _market(client)
    # Due at 10:00, but the window opens at 08:00 and the lot takes 6 h: 4 h late.
    client.post("/orders", json=b.order("O1", quantity=60, min_lot=60, due=b._t(10),
                                        steps=[b.step("s1", minutes_per_piece=6.0)]))
    quotes = client.post("/orders/O1/quotes", params=FAST).json()
    assert quotes
    for q in quotes:
        parts = q["cost_breakdown"]
        assert q["lateness_min"] > 0
        assert parts["tardiness_penalty"] > 0
        assert q["total_cost"] == parts["total"]
        assert parts["total"] == round(parts["processing"] + parts["transport"], 2)
        assert parts["score"] == round(parts["total"] + parts["tardiness_penalty"], 2)
        lots = sum(a["cost"] for a in q["plan"]["allocations"])
        assert abs(parts["processing"] - lots) < 0.01


def test_quote_schema__documents_how_the_figures_add_up(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["QuoteRead"]
    props = schema["properties"]
    assert "processing + transport" in props["total_cost"]["description"]
    assert "tardiness_penalty" in props["cost_breakdown"]["description"]


# --- orders without a value ---------------------------------------------------------------

def test_quote__no_by_value_lots_for_an_order_without_value(client):
    client.post("/factories", json=b.factory("F1", resources=[
        b.resource("RV", windows=[(8, 40)],
                   pricing={"time_share_per_hour": None, "per_piece": None, "by_value_pct": 10}),
        b.resource("RT", windows=[(8, 40)])]))
    client.post("/orders", json=b.order("O1", value=0.0))
    quotes = client.post("/orders/O1/quotes", params=FAST).json()
    assert quotes
    for q in quotes:
        lots = q["plan"]["allocations"]
        assert {a["resource"] for a in lots} == {"RT"}
        assert all(a["pricing"] != "by_value" and a["cost"] > 0 for a in lots)


def test_quote__order_without_value_and_only_by_value_offers_is_unmatched(client):
    client.post("/factories", json=b.factory("F1", resources=[
        b.resource("RV", windows=[(8, 40)],
                   pricing={"time_share_per_hour": None, "per_piece": None, "by_value_pct": 10})]))
    client.post("/orders", json=b.order("O1", value=0.0))
    answer = client.post("/orders/O1/quotes", params=FAST)
    assert answer.status_code == 422
    assert "value" in answer.json()["detail"]


def test_post_order__by_value_pricing_without_value_is_422(client):
    answer = client.post("/orders", json=b.order("O1", pricing="by_value", value=0.0))
    assert answer.status_code == 422
    assert "by_value" in answer.json()["detail"]


# --- parks -------------------------------------------------------------------------------------

def test_post_factory__unknown_park_is_422_naming_it_and_creates_nothing(client):
    before = row_counts(client)
    answer = client.post("/factories", json=b.factory("F1", park="P9x"))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "body.park"
    assert "'P9x'" in answer.json()["detail"]
    assert row_counts(client) == before
    assert client.get("/parks/P9x").status_code == 404


def test_patch_factory__moving_to_an_unknown_park_is_422(client):
    _market(client)
    answer = client.patch("/factories/F1", json={"park": "NOPE"})
    assert answer.status_code == 422
    assert "'NOPE'" in answer.json()["detail"]
    assert client.get("/factories/F1").json()["park"] == "P9"


def test_scenario_import__creates_the_parks_its_factories_name(client):
    doc = b.example()
    parks = {f["park"] for f in doc["factories"]}
    assert client.post("/scenario", json=doc).status_code == 200
    for park in parks:
        assert client.get(f"/parks/{park}").status_code == 200


# --- GET /bookings filters ------------------------------------------------------------------

def _two_factories_booked(client) -> None:
    client.post("/parks", json={"id": "PB", "name": "PB", "city": ""})
    client.post("/factories", json=b.factory("FA", resources=[
        b.resource("RA", windows=[(8, 40)])]))
    client.post("/factories", json=b.factory("FB", park="PB", resources=[
        b.resource("RB", process="cutting.laser", windows=[(8, 40)])]))
    for oid, process in (("OA", "machining.cnc_milling"), ("OB", "cutting.laser")):
        client.post("/orders", json=b.order(oid, steps=[b.step("s1", process=process)]))
        quote = client.post(f"/orders/{oid}/quotes", params=FAST).json()[0]
        assert client.post(f"/quotes/{quote['id']}/accept").status_code == 201


def test_list_bookings__factory_and_park_filters_work(client):
    _two_factories_booked(client)
    assert {x["factory"] for x in client.get("/bookings").json()} == {"FA", "FB"}
    by_factory = client.get("/bookings", params={"factory": "FB"}).json()
    assert by_factory
    assert {x["factory"] for x in by_factory} == {"FB"}
    by_park = client.get("/bookings", params={"park": "P9"}).json()
    assert by_park
    assert {x["factory"] for x in by_park} == {"FA"}
    assert client.get("/bookings", params={"factory": "FB", "park": "P9"}).json() == []
    assert client.get("/bookings", params={"factory": "NOPE"}).json() == []


def test_list_bookings__unknown_query_parameter_is_422(client):
    answer = client.get("/bookings", params={"factroy": "FB"})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "query.factroy"
    assert "factory" in answer.json()["detail"]  # the message lists what the route takes


# --- unmatched quotes ----------------------------------------------------------------------

def test_quote__unmatched_order_is_422_with_the_reason_and_stores_nothing(client):
    _market(client)
    client.post("/orders", json=b.order("O1", steps=[b.step("s1", process="textile.sewing")]))
    before = row_counts(client)
    answer = client.post("/orders/O1/quotes", params=FAST)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "O1" in detail
    assert "cannot be matched" in detail
    assert "s1" in detail
    assert "textile.sewing" in detail
    assert row_counts(client) == before
    assert client.get("/orders/O1/quotes").json() == []
    assert client.get("/orders/O1").json()["status"] == "new"


# --- the dispatcher is a dependency ---------------------------------------------------------

def test_accept__dispatcher_comes_from_the_dependency(client):
    _market(client)
    client.post("/orders", json=b.order("O1"))
    recorder = RecordingDispatcher()
    client.app.dependency_overrides[get_dispatcher] = lambda: recorder
    try:
        quote = client.post("/orders/O1/quotes", params=FAST).json()[0]
        booked = client.post(f"/quotes/{quote['id']}/accept").json()
    finally:
        client.app.dependency_overrides.clear()
    assert [r.id for r in recorder.sent] == [x["id"] for x in booked]


def test_every_route__unknown_query_parameter_is_422(client):
    for path, typo in (("/orders", "stauts"), ("/factories", "prak"), ("/parks", "x"),
                       ("/resources", "proces")):
        answer = client.get(path, params={typo: "1"})
        assert answer.status_code == 422, path
        assert answer.json()["errors"][0]["field"] == f"query.{typo}"
    assert client.get("/orders", params={"status": "new", "limit": 5}).status_code == 200
