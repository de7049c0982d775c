"""Twenty-odd kinds of bad input: each answers 4xx, names the field, and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.services import builders as b
from tests.services.conftest import row_counts


def _order(**over: Any) -> dict[str, Any]:
    return b.order("ONEW", **over)


def _factory_with(**resource_over: Any) -> dict[str, Any]:
    return b.factory("FNEW", resources=[b.resource("FNEW-R1", **resource_over)])


def _scenario_with_bad_factory_last() -> dict[str, Any]:
    doc = b.generated_scenario(n_factories=5, n_orders=2)
    doc["factories"][-1]["rating"] = 7
    return doc


def _scenario_double_booked() -> dict[str, Any]:
    # Valid by the schema; the overlap is only found while writing: all of it must roll back.
    doc = b.generated_scenario(n_factories=5, n_orders=2)
    rid = doc["factories"][0]["resources"][0]["id"]
    doc["factories"][0]["resources"][0]["capacity"] = 1
    doc["bookings"] = [
        {"id": "BX1", "resource": rid, "start": "2026-12-20T00:00:00Z",
         "end": "2026-12-20T05:00:00Z", "order": None, "step": None, "quantity": 1},
        {"id": "BX2", "resource": rid, "start": "2026-12-20T04:00:00Z",
         "end": "2026-12-20T06:00:00Z", "order": None, "step": None, "quantity": 1}]
    return doc


# (name, method, path, json body or raw bytes, expected status, words the message must hold)
CASES: list[tuple[str, str, str, Any, int, tuple[str, ...]]] = [
    ("wrong type: lat is text", "POST", "/factories", b.factory("FNEW", lat="north"), 422,
     ("lat", "number")),
    ("wrong type: quantity is text", "POST", "/orders", _order(quantity="many"), 422,
     ("quantity", "integer")),
    ("unknown process code", "POST", "/factories", _factory_with(process="machining.magic"),
     422, ("process", "machining.magic")),
    ("window end before start", "POST", "/factories",
     _factory_with(windows=[(10, 5)]), 422, ("windows", "after start")),
    ("negative quantity", "POST", "/orders", _order(quantity=-5), 422, ("quantity",)),
    ("step after unknown step", "POST", "/orders",
     _order(steps=[b.step("s1"), b.step("s2", after=["zz"])]), 422, ("after", "zz")),
    ("steps form a cycle", "POST", "/orders",
     _order(steps=[b.step("s1", after=["s2"]), b.step("s2", after=["s1"])]), 422,
     ("cycle", "after")),
    ("due without timezone", "POST", "/orders", _order(due="2026-12-05T00:00:00"), 422,
     ("due", "timezone")),
    ("unknown pricing mode", "POST", "/orders", _order(pricing="free"), 422, ("pricing",)),
    ("unknown field", "POST", "/orders", _order(colour="red"), 422, ("colour",)),
    ("no steps", "POST", "/orders", _order(steps=[]), 422, ("steps",)),
    ("min_lot above quantity", "POST", "/orders", _order(quantity=5, min_lot=10), 422,
     ("min_lot",)),
    ("id with a slash", "POST", "/factories", b.factory("F/1"), 422, ("id", "pattern")),
    ("duplicate resource ids", "POST", "/factories",
     b.factory("FNEW", resources=[b.resource("RX"), b.resource("RX")]), 422,
     ("resources", "RX")),
    ("resource offers no price", "POST", "/factories",
     _factory_with(pricing={"time_share_per_hour": None}), 422, ("pricing",)),
    ("negative price", "POST", "/factories",
     _factory_with(pricing={"time_share_per_hour": -3.0}), 422, ("time_share_per_hour",)),
    ("existing factory id", "POST", "/factories", b.factory("F1"), 409, ("F1",)),
    ("resource of unknown factory", "POST", "/resources",
     {**b.resource("RNEW"), "factory": "NOPE"}, 404, ("NOPE",)),
    ("patch leaves no price", "PATCH", "/resources/F1-L1",
     {"pricing": {"time_share_per_hour": None, "per_piece": None}}, 422, ("pricing",)),
    ("malformed JSON", "POST", "/orders", b'{"id": "O9", ', 422, ("body", "JSON")),
    ("scenario: invalid factory at the end", "POST", "/scenario",
     _scenario_with_bad_factory_last(), 422, ("factories.4.rating",)),
    ("scenario: booking of unknown resource", "POST", "/scenario",
     {**b.example(), "bookings": [{"id": "B1", "resource": "GHOST",
                                   "start": "2026-12-01T00:00:00Z",
                                   "end": "2026-12-01T01:00:00Z"}]}, 422, ("GHOST",)),
    ("scenario: double booking found while writing", "POST", "/scenario",
     _scenario_double_booked(), 409, ("double booking",)),
    ("delete a booked resource", "DELETE", "/resources/F1-L1", None, 409, ("booking",)),
    ("quote time limit negative", "POST", "/orders/O1/quotes?time_limit_s=-1", None, 422,
     ("time_limit_s",)),
    ("quote time limit above maximum", "POST", "/orders/O1/quotes?time_limit_s=9999", None,
     422, ("time_limit_s",)),
    ("status filter not a status", "GET", "/orders?status=bogus", None, 422, ("status",)),
    ("accept an unknown quote", "POST", "/quotes/NOPE/accept", None, 404, ("NOPE",)),
    ("body over 10 MiB", "POST", "/scenario", b"x" * (10 * 1024 * 1024 + 1), 413, ("body",)),
]


@pytest.fixture
def seeded(client):
    doc = b.example()
    doc["bookings"] = [{"id": "B-SEED", "resource": "F1-L1", "start": "2026-12-01T08:00:00Z",
                        "end": "2026-12-01T09:00:00Z", "order": "O1", "step": "s1",
                        "quantity": 10}]
    assert client.post("/scenario", json=doc).status_code == 200
    return client


@pytest.mark.parametrize(("name", "method", "path", "body", "status", "words"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_input__4xx_names_the_field_and_writes_nothing(seeded, name, method, path, body,
                                                         status, words):
    before = row_counts(seeded)
    if isinstance(body, bytes):
        answer = seeded.request(method, path, content=body,
                                headers={"content-type": "application/json"})
    else:
        answer = seeded.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    for word in words:
        assert word.lower() in detail.lower(), f"{name}: {word!r} not in {detail!r}"
    assert row_counts(seeded) == before


def test_bad_input__there_are_at_least_twenty_kinds():
    assert len({c[0] for c in CASES}) >= 20


def test_bad_input__chunked_body_over_limit_is_413(seeded):
    def chunks():
        for _ in range(11):
            yield b" " * (1024 * 1024)

    answer = seeded.post("/scenario", content=chunks(),
                         headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert "exceeds" in json.dumps(answer.json())
