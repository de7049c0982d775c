"""Ids never reveal another tenant's objects (issue 10: "another tenant's object answers 404,
never revealing that it exists").

A tenant's create is answered the same whether another tenant uses that id or nobody does
(the id lands in the creator's namespace, services.auth.namespace), and touching another
tenant's object is answered exactly like touching an id that names nothing.
"""

from __future__ import annotations

from typing import Any

from tests.services import builders as b
from tests.services.auth_helpers import bearer, grant


def _as(client: Any, org: str, kind: str) -> dict[str, str]:
    return bearer(grant(client.app, org_id=org, kind=kind))


def _world(client: Any) -> dict[str, dict[str, str]]:
    """Two tenants of each kind (park P9 is seeded by the client fixture)."""
    return {"sme-a": _as(client, "sme-a", "sme"), "sme-b": _as(client, "sme-b", "sme"),
            "fac-a": _as(client, "fac-a", "factory"), "fac-b": _as(client, "fac-b", "factory"),
            "park-a": _as(client, "park-a", "park"), "park-b": _as(client, "park-b", "park")}


def _shape(answer: Any) -> tuple[int, list[str]]:
    return answer.status_code, sorted(answer.json())


def test_create__an_id_another_tenant_uses_answers_like_a_fresh_one(client):
    who = _world(client)
    taken = {
        "/orders": (who["sme-a"], who["sme-b"], lambda i: b.order(i)),
        "/factories": (who["fac-a"], who["fac-b"],
                       lambda i: b.factory(i, park="P9", resources=[b.resource(f"{i}-R")])),
        "/parks": (who["park-a"], who["park-b"], lambda i: {"id": i}),
    }
    for path, (first, second, body) in taken.items():
        mine = client.post(path, headers=first, json=body("X1"))
        assert mine.status_code == 201, mine.text
        clash = client.post(path, headers=second, json=body("X1"))
        fresh = client.post(path, headers=second, json=body("X2"))
        assert _shape(clash) == _shape(fresh) == _shape(mine), (path, clash.text)
        prefix = "sme-b." if path == "/orders" else ("fac-b." if "fac" in path else "park-b.")
        assert (clash.json()["id"], fresh.json()["id"]) == (prefix + "X1", prefix + "X2")
        # Both objects exist side by side, each seen only by its owner.
        assert client.get(f"{path}/{mine.json()['id']}", headers=second).status_code == 404
        assert client.get(f"{path}/{clash.json()['id']}", headers=second).status_code == 200
        # Its own duplicate is the only 409 a tenant meets: it names its own object.
        again = client.post(path, headers=second, json=body("X1"))
        assert again.status_code == 409
        sent_qualified = client.post(path, headers=second, json=body(prefix + "X3"))
        assert sent_qualified.json()["id"] == prefix + "X3"  # kept as sent, not doubled


def test_create__resource_ids_are_namespaced_too(client):
    who = _world(client)
    fa = client.post("/factories", headers=who["fac-a"], json=b.factory(
        "FA", park="P9", resources=[b.resource("R1")])).json()
    fb = client.post("/factories", headers=who["fac-b"], json=b.factory(
        "FB", park="P9", resources=[b.resource("R1")]))
    assert fb.status_code == 201, fb.text
    assert [r["id"] for r in fa["resources"]] == ["fac-a.R1"]
    assert [r["id"] for r in fb.json()["resources"]] == ["fac-b.R1"]
    clash = client.post("/resources", headers=who["fac-b"],
                        json={**b.resource("R2"), "factory": fb.json()["id"]})
    client.post("/resources", headers=who["fac-a"],
                json={**b.resource("R3"), "factory": fa["id"]})
    fresh = client.post("/resources", headers=who["fac-b"],
                        json={**b.resource("R3"), "factory": fb.json()["id"]})
    assert (clash.status_code, fresh.status_code) == (201, 201)
    assert fresh.json()["id"] == "fac-b.R3"


def test_touch__another_tenants_object_answers_like_a_missing_one(client):
    who = _world(client)
    order = client.post("/orders", headers=who["sme-a"], json=b.order("O1")).json()["id"]
    factory = client.post("/factories", headers=who["fac-a"], json=b.factory(
        "F1", park="P9", resources=[b.resource("R1")])).json()
    park = client.post("/parks", headers=who["park-a"], json={"id": "PK"}).json()["id"]
    resource = factory["resources"][0]["id"]
    cases = [
        ("GET", "/orders/{}", who["sme-b"], order, None),
        ("DELETE", "/orders/{}", who["sme-b"], order, None),
        ("POST", "/orders/{}/cancel", who["sme-b"], order, None),
        ("POST", "/orders/{}/quotes", who["sme-b"], order, None),
        ("GET", "/factories/{}", who["fac-b"], factory["id"], None),
        ("PATCH", "/factories/{}", who["fac-b"], factory["id"], {"rating": 1.0}),
        ("DELETE", "/factories/{}", who["fac-b"], factory["id"], None),
        ("PATCH", "/resources/{}", who["fac-b"], resource, {"capacity": 9}),
        ("DELETE", "/resources/{}", who["fac-b"], resource, None),
        ("PATCH", "/parks/{}", who["park-b"], park, {"name": "mine now"}),
        ("DELETE", "/parks/{}", who["park-b"], park, None),
    ]
    for method, template, caller, real, body in cases:
        theirs = client.request(method, template.format(real), headers=caller, json=body)
        missing = client.request(method, template.format("NOPE"), headers=caller, json=body)
        assert theirs.status_code == missing.status_code == 404, (method, template)
        assert theirs.json()["detail"].replace(real, "NOPE") == missing.json()["detail"]
    # Nothing changed.
    assert client.get(f"/orders/{order}", headers=who["sme-a"]).json()["status"] == "new"
    assert client.get(f"/factories/{factory['id']}", headers=who["fac-a"]).json()["rating"] \
        == factory["rating"]
    assert client.get(f"/resources/{resource}", headers=who["fac-a"]).json()["capacity"] == 1
    assert client.get(f"/parks/{park}", headers=who["park-a"]).status_code == 200


def test_org_ids__no_namespace_separator(client):
    """An organisation id with a "." could make two namespaces overlap: refused."""
    answer = client.post("/orgs", json={"id": "acme.eu", "kind": "sme"})
    assert answer.status_code == 422
    assert client.post("/orgs", json={"id": "acme-eu", "kind": "sme"}).status_code == 201
