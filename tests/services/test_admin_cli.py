"""``sharefab admin``: bootstrap a fresh database from the command line, then use the key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli import app
from services.api.app import create_app
from services.core.settings import get_settings
from services.flows.demo import seed
from services.flows.demo_orgs import seed_orgs
from tests.services.auth_helpers import bearer
from tests.services.conftest import NOW, make_settings


@pytest.fixture
def db_url(tmp_path, monkeypatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    monkeypatch.setenv("SHAREFAB_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _run(*args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(app, ["admin", *args], input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def test_admin__create_org_and_key_then_the_token_works(db_url):
    _run("create-org", "acme", "--kind", "factory", "--name", "Acme Machining")
    token = _run("create-key", "--org", "acme", "--role", "admin").strip().splitlines()[-1]
    assert token.startswith("sfk_")
    _run("create-user", "ops@acme.example", "--org", "acme", "--password",
         "a long passphrase")
    with TestClient(create_app(make_settings(db_url), clock=lambda: NOW)) as client:
        assert client.get("/me", headers=bearer(token)).json()["org"] == "acme"
        login = client.post("/auth/login", json={"email": "ops@acme.example",
                                                 "password": "a long passphrase"})
        assert login.status_code == 200
    _run("revoke-key", "_".join(token.split("_")[:2]))  # by its visible prefix
    with TestClient(create_app(make_settings(db_url), clock=lambda: NOW)) as client:
        assert client.get("/me", headers=bearer(token)).status_code == 401
        events = client.get("/audit", headers=bearer(login.json()["access_token"])).json()
    assert [e["action"] for e in events] == ["org.created", "key.created", "user.created",
                                             "key.revoked"]
    assert {e["actor"] for e in events} == {"cli:admin"}


def test_admin__bad_input_exits_2_with_a_message(db_url):
    result = CliRunner().invoke(app, ["admin", "create-org", "x", "--kind", "pirate"])
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["admin", "create-key", "--org", "nobody"])
    assert result.exit_code == 2
    assert "nobody" in result.output


def test_demo_orgs__every_kind_can_act_and_sees_its_own(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    application = create_app(make_settings(url), clock=lambda: NOW)
    with TestClient(application) as client:
        seed(application.state.session_factory, now=NOW)
        tokens = seed_orgs(application.state.session_factory, data_dir=tmp_path)
        again = seed_orgs(application.state.session_factory, data_dir=tmp_path)
        first = {t.kind: t for t in reversed(tokens)}  # the first of each kind
        assert set(first) == {"platform", "sme", "factory", "park", "analyst"}
        assert client.get("/me", headers=bearer(first["sme"].token)).status_code == 401
        latest = {t.kind: t for t in reversed(again)}
        sme = bearer(latest["sme"].token)
        assert [o["id"] for o in client.get("/orders", headers=sme).json()] == [
            "DEMO-O1", "DEMO-O2"]
        factory = bearer(latest["factory"].token)
        assert len(client.get("/factories", headers=factory).json()) == 1
        park = bearer(latest["park"].token)
        assert len(client.get("/factories", headers=park).json()) == 24
        analyst = bearer(latest["analyst"].token)
        assert client.get("/dashboard/data", headers=analyst).json()["factories"] == 24
        assert client.get("/orders", headers=analyst).status_code == 403
    lines = (tmp_path / "demo-tokens.txt").read_text().splitlines()
    assert sum(1 for line in lines if line.startswith("demo-sme-")) == 2
