"""The HTTP attacks of issue 10 ("tried as an outsider would"), repeated: each is refused,
counted in /metrics, and changes nothing. (The MQTT ones: tests/connectors/test_spoofing.py
and, through the real Mosquitto, tests/connectors/test_mqtt_acl.py.)"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.services import builders as b
from tests.services.auth_helpers import bearer, grant
from tests.services.conftest import row_counts


def _state(client: TestClient) -> tuple[Any, ...]:
    """Everything an attack could change, read as the platform."""
    return (row_counts(client), client.get("/scenario").json(), client.get("/orders").json(),
            client.get("/bookings").json(), client.get("/resources").json())


def _refusals(client: TestClient) -> dict[str, float]:
    counts: dict[str, float] = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("sharefab_http_requests_total{"):
            status = line.split('status="', 1)[1].split('"', 1)[0]
            counts[status] = counts.get(status, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


def test_outsider__every_http_attack_refused_counted_and_harmless(client):
    sme_a = bearer(grant(client.app, org_id="sme-a", kind="sme"))
    sme_b = bearer(grant(client.app, org_id="sme-b", kind="sme"))
    fac_b = bearer(grant(client.app, org_id="fac-b", kind="factory"))
    client.post("/orgs", json={"id": "fac-a", "kind": "factory"})
    client.post("/factories", json={**b.factory("FA", park="P9"), "org": "fac-a"})
    order = client.post("/orders", headers=sme_a, json=b.order("OA")).json()["id"]
    quotes = client.post(f"/orders/{order}/quotes", headers=sme_a,
                         params={"time_limit_s": 1}).json()
    quote = next(q for q in quotes if q["plan"]["status"] == "planned")["id"]
    nobody: dict[str, str] = {"Authorization": ""}
    before, counted = _state(client), _refusals(client)

    attacks = [
        # An empty scenario with replace=true erased the market.
        ("POST", "/scenario?replace=true", nobody, {}, 401),
        ("POST", "/scenario?replace=true", sme_b, {}, 403),
        ("POST", "/scenario?replace=true", fac_b, {}, 403),
        # Another factory's price set to 0.01/h.
        ("PATCH", "/resources/FA-R1", nobody, {"pricing": {"time_share_per_hour": 0.01}}, 401),
        ("PATCH", "/resources/FA-R1", fac_b, {"pricing": {"time_share_per_hour": 0.01}}, 404),
        # Another customer's order accepted, then cancelled.
        ("POST", f"/quotes/{quote}/accept", nobody, None, 401),
        ("POST", f"/quotes/{quote}/accept", sme_b, None, 404),
        ("POST", f"/orders/{order}/cancel", sme_b, None, 404),
        ("DELETE", f"/orders/{order}", sme_b, None, 404),
        # Every customer's orders, values and prices listed.
        ("GET", "/orders", nobody, None, 401),
        ("GET", f"/orders/{order}", sme_b, None, 404),
        ("GET", f"/orders/{order}/quotes", sme_b, None, 404),
        ("GET", "/orders", fac_b, None, 403),
    ]
    for method, path, headers, body, status in attacks:
        answer = client.request(method, path, headers=headers, json=body)
        assert answer.status_code == status, (method, path, answer.text)
    assert client.get("/orders", headers=sme_b).json() == []  # sees none of sme-a's

    assert _state(client) == before
    after = _refusals(client)
    for status in ("401", "403", "404"):
        expected = sum(1 for *_, s in attacks if str(s) == status)
        assert after.get(status, 0) - counted.get(status, 0) >= expected, status
