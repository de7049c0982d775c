"""The back-pressure limits count the authenticated caller (issue 10: "a rate limit per API
key"): the request rate per API key or account, quote admission per organisation, and a token
that names nothing counts against its client address, never against the key it imitates."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.backpressure import BackPressure
from services.live.memory import InMemoryLiveStore
from tests.services.auth_helpers import as_platform, bearer, grant
from tests.services.conftest import NOW, make_settings


def _client(tmp_path: Any, **overrides: Any) -> TestClient:
    settings = make_settings(f"sqlite:///{tmp_path / 'rate.db'}", **overrides)
    return TestClient(create_app(settings, live=InMemoryLiveStore(), clock=lambda: NOW))


def _user_token(client: TestClient, org: str, email: str) -> str:
    client.post(f"/orgs/{org}/users", json={"email": email, "password": "a long passphrase"})
    answer = client.post("/auth/login", json={"email": email, "password": "a long passphrase"})
    return str(answer.json()["access_token"])


def test_rate_limit__per_key_not_per_header(tmp_path):
    with _client(tmp_path, rate_limit_per_s=0.01, rate_limit_burst=2) as client:
        key_1 = bearer(grant(client.app, org_id="sme-a", kind="sme"))
        key_2 = bearer(grant(client.app, org_id="sme-a", kind="sme"))
        assert [client.get("/orders", headers=key_1).status_code for _ in range(3)] == [
            200, 200, 429]
        # Another key of the same organisation has its own budget.
        assert client.get("/orders", headers=key_2).status_code == 200
        # A forged token shaped like key 1 spends the address's budget, not key 1's: the
        # stranger is refused for its own address once that is spent, key 2 still works.
        # Each forged token differs, as a guesser's do: still one address, one budget.
        prefix = key_1["Authorization"].split()[1][:12]
        forged = [{"Authorization": f"Bearer {prefix}_{'x' * 42}{i}"} for i in range(3)]
        assert [client.get("/orders", headers=h).status_code for h in forged] == [
            401, 401, 429]
        assert client.get("/healthz", headers=key_1).status_code == 200  # exempt


def test_caller_keys__rate_per_credential_quotes_per_organisation(tmp_path):
    with _client(tmp_path) as client:
        as_platform(client)
        client.post("/orgs", json={"id": "sme-a", "kind": "sme"})
        keys = [grant(client.app, org_id="sme-a", kind="sme") for _ in range(2)]
        keys.append(_user_token(client, "sme-a", "buyer@a.example"))
        other = grant(client.app, org_id="sme-b", kind="sme")
        middleware = _backpressure(client)

        def caller(token: str | None) -> Any:
            headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
            scope = {"type": "http", "headers": headers, "client": ("10.0.0.7", 5),
                     "app": client.app}
            # A thread of its own: another test's browser may hold this thread's event loop.
            with ThreadPoolExecutor(1) as pool:
                return pool.submit(asyncio.run, middleware._caller_keys(scope)).result()

        seen = [caller(t) for t in keys]
        assert len({k.rate for k in seen}) == 3  # two keys and an account: three buckets
        assert {k.tenant for k in seen} == {"org:sme-a"}  # one organisation's quote slots
        assert caller(other).tenant == "org:sme-b"
        assert caller(None).rate == caller("not-a-token").rate == "ip:10.0.0.7"
        assert seen[2].rate == "user:buyer@a.example"
        # Cached: asking again does not touch the database; garbage never does.
        lookups = middleware.callers.lookups
        caller(keys[0])
        caller("garbage-1")
        assert middleware.callers.lookups == lookups


def _backpressure(client: TestClient) -> BackPressure:
    app = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(app, BackPressure):
        app = app.app
    return app
