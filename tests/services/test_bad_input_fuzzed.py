"""The bad input issue 10's fuzzing found (each answered 500 or could never succeed), fixed:
on SQLite and PostgreSQL (``client`` runs both), a clear 4xx naming the field, nothing written.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError

from domain.schemas import MAX_MONEY_CNY
from services.api import errors
from services.api.openapi_errors import ErrorBody
from tests.services import builders as b
from tests.services.conftest import row_counts

LISTS = ["/parks", "/factories", "/resources", "/orders", "/bookings"]


def refused(response: Any, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = ErrorBody.model_validate(response.json())  # the documented error model
    for word in words:
        assert word in body.detail, body.detail
    return dict(response.json())


def test_offset__beyond_64_bits_is_422_and_the_largest_answers_an_empty_page(
        client: TestClient) -> None:
    # (One app per backend for all the lists: starting one costs a migration.)
    for path in LISTS:
        for offset in (2**63, 2**64, 10**30):
            refused(client.get(path, params={"offset": offset}), 422, "offset")
        response = client.get(path, params={"offset": 2**63 - 1})
        assert (response.status_code, response.json()) == (200, []), path


NUL_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("body", {"method": "POST", "url": "/factories",
              "json": b.factory("FNUL", name="a\x00b")}),
    ("body", {"method": "POST", "url": "/orders", "json": b.order("O\x00")}),
    ("body", {"method": "POST", "url": "/orders",
              "json": b.order("ONUL", material="al\x006061")}),
    ("query", {"method": "GET", "url": "/orders", "params": {"customer": "C\x001"}}),
    ("path", {"method": "GET", "url": "/factories/F%001"}),
    ("path", {"method": "DELETE", "url": "/orders/O%00"}),
]


def test_nul__refused_with_422_and_nothing_written(client: TestClient) -> None:
    before = row_counts(client)
    for where, request_args in NUL_REQUESTS:
        refused(client.request(**request_args), 422, where, "NUL")
    assert row_counts(client) == before


def test_nul__a_backslash_u_sequence_that_is_not_nul_passes(client: TestClient) -> None:
    created = client.post("/factories", json=b.factory("FOK", name="a\u0001b \\u00e9"))
    assert created.status_code == 201, created.text


@pytest.mark.parametrize(("doc", "field"), [
    (b.factory("FX1", resources=[b.resource(
        "FX1-R1", pricing={"time_share_per_hour": 1e15})]), "time_share_per_hour"),
    (b.factory("FX2", resources=[b.resource(
        "FX2-R1", pricing={"per_piece": MAX_MONEY_CNY * 10})]), "per_piece"),
])
def test_price__above_the_bound_is_422(client: TestClient, doc: dict[str, Any],
                                       field: str) -> None:
    before = row_counts(client)
    refused(client.post("/factories", json=doc), 422, field, "less than or equal")
    assert row_counts(client) == before


def test_value__above_the_bound_is_422(client: TestClient) -> None:
    refused(client.post("/orders", json=b.order("OBIG", value=1e15)), 422, "value")


def test_price__at_the_bound_still_quotes(client: TestClient) -> None:
    """The most expensive resource allowed: quotes of its process answer, no 500."""
    top = {"time_share_per_hour": MAX_MONEY_CNY, "per_piece": MAX_MONEY_CNY,
           "by_value_pct": 100.0}
    assert client.post("/factories", json=b.factory("FTOP", resources=[
        b.resource("FTOP-R1", pricing=top, windows=[(0, 24 * 30)])])).status_code == 201
    order = b.order("OTOP", quantity=1000, value=MAX_MONEY_CNY, pricing="time_share",
                    steps=[b.step("s1", minutes_per_piece=10.0)])
    assert client.post("/orders", json=order).status_code == 201
    quotes = client.post("/orders/OTOP/quotes", params={"time_limit_s": 1.0})
    assert quotes.status_code == 201, quotes.text
    assert quotes.json()[0]["total_cost"] > 1e9


def test_step__zero_minutes_refused_it_could_never_be_booked(client: TestClient) -> None:
    before = row_counts(client)
    order = b.order("OZERO", steps=[b.step("s1", minutes_per_piece=0)])
    refused(client.post("/orders", json=order), 422, "minutes_per_piece", "greater than 0")
    scenario = b.generated_scenario(n_factories=2, n_orders=1)
    scenario["orders"][0]["steps"][0]["minutes_per_piece"] = 0
    refused(client.post("/scenario", json=scenario), 422, "minutes_per_piece")
    assert row_counts(client) == before


def test_data_error__answered_422_not_500() -> None:
    """A value the database refuses although the schema let it through is the client's."""
    app = FastAPI()
    errors.install(app)

    def boom() -> None:
        raise DataError("INSERT ...", {}, ValueError("integer out of range"))

    app.add_api_route("/boom", boom, methods=["POST"])
    refused(TestClient(app).post("/boom"), 422, "out of range")


def test_openapi__errors_documented_with_the_real_body(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in str(doc)
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    assert doc["components"]["schemas"]["ErrorBody"]["properties"]["detail"]["type"] \
        == "string"
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if "ops" in operation.get("tags", []):
                continue  # probes: no input, their own status bodies
            codes = set(operation["responses"])
            expected = {"401", "403", "413", "422", "503"}
            if method != "get":
                expected |= {"404", "409"}
            if "{" in path:
                expected.add("404")
            assert expected <= codes, (method, path, expected - codes)
            for code in expected:
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == error_ref, (method, path, code)
