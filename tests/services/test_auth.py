"""Accounts, keys, login tokens, tenancy of lists, and the audit trail (issue 10), on SQLite and
PostgreSQL through the ``client`` fixture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.auth import tokens
from tests.services import builders as b
from tests.services.auth_helpers import bearer, grant


def _org(client, org_id: str, kind: str, role: str = "admin") -> dict[str, str]:
    return bearer(grant(client.app, org_id=org_id, kind=kind, role=role))


def test_keys__shown_once_stored_hashed_revocable(client):
    assert client.post("/orgs", json={"id": "acme", "kind": "sme"}).status_code == 201
    created = client.post("/orgs/acme/keys", json={"role": "member", "label": "erp"})
    assert created.status_code == 201
    key = created.json()
    token = key["token"]
    assert token.startswith(key["prefix"] + "_")
    assert key["prefix"].startswith("sfk_")
    with client.app.state.engine.connect() as conn:
        stored = conn.execute(text("SELECT prefix, token_sha256 FROM api_keys WHERE id = :i"),
                              {"i": key["id"]}).one()
    assert stored.token_sha256 == tokens.sha256(token)
    assert token not in stored
    listed = client.get("/orgs/acme/keys").json()
    assert [k["id"] for k in listed] == [key["id"]]
    assert "token" not in listed[0]
    me = client.get("/me", headers=bearer(token))
    assert me.json() == {"org": "acme", "org_kind": "sme", "role": "member",
                         "actor": f"key:{key['prefix']}"}
    assert client.get("/orgs/acme/keys").json()[0]["last_used_at"] is not None
    assert client.delete(f"/keys/{key['id']}").json()["revoked_at"] is not None
    assert client.get("/me", headers=bearer(token)).status_code == 401
    wrong_secret = key["prefix"] + "_" + "x" * 43
    assert client.get("/me", headers=bearer(wrong_secret)).status_code == 401


def test_login__password_gives_expiring_signed_token(client):
    client.post("/orgs", json={"id": "acme", "kind": "sme"})
    assert client.post("/orgs/acme/users", json={
        "email": "Buyer@Acme.example", "password": "a long passphrase"}).status_code == 201
    assert client.post("/auth/login", json={"email": "buyer@acme.example",
                                            "password": "wrong passphrase"}).status_code == 401
    assert client.post("/auth/login", json={"email": "nobody@acme.example",
                                            "password": "a long passphrase"}).status_code == 401
    answer = client.post("/auth/login", json={"email": "buyer@acme.example",
                                              "password": "a long passphrase"}, headers={})
    assert answer.status_code == 200
    token = answer.json()["access_token"]
    assert client.get("/me", headers=bearer(token)).json()["actor"] == "user:buyer@acme.example"
    secret = client.app.state.settings.secret_key
    account = tokens.read_token(secret, token)
    assert account is not None
    expired = tokens.issue_token(secret, account_id=account,
                                 now=datetime.now(UTC) - timedelta(hours=9), ttl_s=3600)
    forged = tokens.issue_token("another secret", account_id=account, now=datetime.now(UTC),
                                ttl_s=3600)
    for bad in (expired, forged, token[:-2] + "xx"):
        assert client.get("/me", headers=bearer(bad)).status_code == 401


def test_login__weak_password_refused(client):
    client.post("/orgs", json={"id": "acme", "kind": "sme"})
    answer = client.post("/orgs/acme/users", json={"email": "a@b.c", "password": "short"})
    assert answer.status_code == 422


def test_tenancy__lists_show_only_own_rows(client):
    sme_a, sme_b = _org(client, "sme-a", "sme"), _org(client, "sme-b", "sme")
    fac_a, park_a = _org(client, "fac-a", "factory"), _org(client, "park-a", "park")
    client.post("/parks", json={"id": "PA", "operator": "park-a"})
    client.post("/parks", json={"id": "PB"})
    assert client.post("/factories", headers=fac_a, json=b.factory("FA", park="PA")
                       ).status_code == 201
    assert client.post("/factories", json={**b.factory("FB", park="PB")}).status_code == 201
    client.post("/orders", headers=sme_a, json=b.order("OA"))
    client.post("/orders", headers=sme_b, json=b.order("OB"))
    # A tenant's ids live in its namespace (services.auth.namespace).
    assert [o["id"] for o in client.get("/orders", headers=sme_a).json()] == ["sme-a.OA"]
    assert [o["id"] for o in client.get("/orders", headers=sme_b).json()] == ["sme-b.OB"]
    assert {o["id"] for o in client.get("/orders").json()} == {"sme-a.OA", "sme-b.OB"}
    assert [f["id"] for f in client.get("/factories", headers=fac_a).json()] == ["fac-a.FA"]
    assert [f["id"] for f in client.get("/factories", headers=park_a).json()] == ["fac-a.FA"]
    assert [r["id"] for r in client.get("/resources", headers=park_a).json()] == [
        "fac-a.FA-R1"]
    assert [p["id"] for p in client.get("/parks", headers=park_a).json()] == ["PA"]
    # The factory organisation cannot put its resource under another factory, nor move prices
    # of another's: both answer 404, as if the factory did not exist.
    assert client.post("/resources", headers=fac_a, json={**b.resource("X1"), "factory": "FB"}
                       ).status_code == 404
    assert client.patch("/resources/FB-R1", headers=fac_a, json={
        "pricing": {"time_share_per_hour": 0.01}}).status_code == 404
    assert client.get("/resources/FB-R1").json()["pricing"]["time_share_per_hour"] == 100.0


def test_tenancy__factory_sees_only_its_lots_and_no_order(client):
    sme_a, fac_a = _org(client, "sme-a", "sme"), _org(client, "fac-a", "factory")
    fac_b = _org(client, "fac-b", "factory")
    client.post("/factories", json={**b.factory("FA", park="P9"), "org": "fac-a"})
    client.post("/factories", json={**b.factory("FB", park="P9"), "org": "fac-b"})
    oa = client.post("/orders", headers=sme_a, json=b.order("OA", steps=[
        b.step("s1"), b.step("s2", process="surface.anodizing", after=["s1"])])).json()["id"]
    client.patch("/resources/FB-R1", json={"process": "surface.anodizing"})
    quotes = client.post(f"/orders/{oa}/quotes", headers=sme_a,
                         params={"time_limit_s": 1}).json()
    quote = next(q for q in quotes if q["plan"]["status"] == "planned")
    assert client.post(f"/quotes/{quote['id']}/accept", headers=sme_a).status_code == 201
    lots_a = client.get("/bookings", headers=fac_a).json()
    lots_b = client.get("/bookings", headers=fac_b).json()
    assert {x["resource"] for x in lots_a} == {"FA-R1"}
    assert {x["step"] for x in lots_a} == {"s1"}
    assert {x["resource"] for x in lots_b} == {"FB-R1"}
    assert {x["step"] for x in lots_b} == {"s2"}
    assert client.get(f"/bookings/{lots_b[0]['id']}", headers=fac_a).status_code == 404
    # Neither the order (value, other steps) nor its quotes (prices paid to others).
    assert client.get(f"/orders/{oa}", headers=fac_a).status_code == 403
    assert client.get(f"/quotes/{quote['id']}", headers=fac_a).status_code == 403
    assert len(client.get("/bookings", headers=sme_a).json()) == 2


def test_platform_import__names_factory_organisations(client):
    client.post("/orgs", json={"id": "fac-a", "kind": "factory"})
    doc = b.example()
    doc["factories"][0]["org"] = "fac-a"
    assert client.post("/scenario", json=doc).status_code == 200
    fac_a = _org(client, "fac-a", "factory")
    assert [f["id"] for f in client.get("/factories", headers=fac_a).json()] == [
        doc["factories"][0]["id"]]
    doc["factories"][1]["org"] = "no-such-org"
    answer = client.post("/scenario", json=doc)
    assert answer.status_code == 422
    assert "factories.1.org" in answer.text
    assert client.post("/scenario", headers=fac_a, json=doc).status_code == 403
    assert "org" not in client.get("/scenario").json()["factories"][0]  # round-trips as 4.1


def test_audit__who_changed_a_price_and_who_accepted_survive_order_delete(client):
    sme_a, fac_a = _org(client, "sme-a", "sme"), _org(client, "fac-a", "factory")
    sme_b = _org(client, "sme-b", "sme")
    client.post("/factories", json={**b.factory("FA", park="P9"), "org": "fac-a"})
    assert client.patch("/resources/FA-R1", headers=fac_a, json={
        "pricing": {"time_share_per_hour": 90.0}}).status_code == 200
    oa = client.post("/orders", headers=sme_a, json=b.order("OA")).json()["id"]
    quotes = client.post(f"/orders/{oa}/quotes", headers=sme_a,
                         params={"time_limit_s": 1}).json()
    quote = next(q for q in quotes if q["plan"]["status"] == "planned")
    assert client.post(f"/quotes/{quote['id']}/accept", headers=sme_a).status_code == 201
    assert client.post(f"/orders/{oa}/cancel", headers=sme_a).status_code == 200
    assert client.delete(f"/orders/{oa}", headers=sme_a).status_code == 204
    assert client.get(f"/orders/{oa}").status_code == 404

    events = client.get("/audit").json()
    fac_key, sme_key = (client.get("/me", headers=h).json()["actor"] for h in (fac_a, sme_a))
    price = next(e for e in events if e["action"] == "resource.updated")
    assert (price["actor"], price["actor_org"], price["owner_org"]) == (fac_key, "fac-a",
                                                                        "fac-a")
    assert price["before"]["pricing"]["time_share_per_hour"] == 100.0
    assert price["after"]["pricing"]["time_share_per_hour"] == 90.0
    accepted = next(e for e in events if e["action"] == "quote.accepted")
    assert (accepted["actor"], accepted["object_id"]) == (sme_key, quote["id"])
    assert accepted["after"]["order"] == oa
    history = [e["action"] for e in events if e["object_id"] == oa]
    assert history == ["order.created", "quotes.issued", "order.cancelled", "order.deleted"]
    # Others see only what they did or own.
    assert client.get("/audit", headers=sme_b).json() == []
    mine = client.get("/audit", headers=fac_a).json()
    assert {e["action"] for e in mine} == {"resource.updated", "factory.created"}


def test_audit__database_refuses_update_and_delete(client):
    client.post("/orgs", json={"id": "acme", "kind": "sme"})
    engine = client.app.state.engine
    for statement in ("UPDATE audit_events SET actor = 'someone else'",
                      "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_events")).scalars().all() != []


def test_roles__viewer_reads_member_cannot_manage_keys(client):
    viewer, member = _org(client, "sme-a", "sme", "viewer"), _org(client, "sme-a", "sme",
                                                                   "member")
    assert client.get("/orders", headers=viewer).status_code == 200
    assert client.post("/orders", headers=viewer, json=b.order("OV")).status_code == 403
    assert client.post("/orders", headers=member, json=b.order("OM")).status_code == 201
    assert client.post("/orgs/sme-a/keys", headers=member, json={}).status_code == 403
    assert client.post("/orgs", headers=member, json={"id": "x", "kind": "sme"}
                       ).status_code == 403


def test_errors__401_says_bearer_and_matches_error_shape(anonymous):
    answer = anonymous.get("/orders")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["errors"][0]["field"] == "authorization"
    assert anonymous.get("/orders", headers=bearer("not-a-token")).status_code == 401
    schema = anonymous.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert schema["paths"]["/healthz"]["get"]["security"] == []
    assert schema["paths"]["/orders"]["get"]["security"] == [{"HTTPBearer": []}]
