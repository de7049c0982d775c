"""The OpenAPI contract fuzzed by schemathesis, in-process (ASGI), on SQLite and PostgreSQL.

Every operation of the document gets ``EXAMPLES`` generated requests per backend (valid and
invalid ones, fixed seed); each response must not be a server error and must match what the
document declares: status code, content type and body schema. ``test_zz_cases_counted``
checks that at least 1,000 cases ran in all. The market is seeded first so lists and lookups
return real objects whose bodies get validated too.

Headers come from one fixture, ``auth_headers``: empty while the API has no authentication;
once ``sharefab admin`` exists (services.auth), a platform-admin key made with it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from typer.testing import CliRunner

from services.api.app import create_app
from services.live.memory import InMemoryLiveStore
from tests.services import builders as b
from tests.services.conftest import NOW, make_settings

pytestmark = pytest.mark.timeout(600)

# Per operation and backend. Operations with few inputs yield fewer distinct cases;
# test_zz_cases_counted asserts the total.
EXAMPLES = int(os.environ.get("SHAREFAB_SCHEMATHESIS_EXAMPLES", "3"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
CASES: Counter[str] = Counter()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'api.db'}"
        return
    from services.core.db import scratch_schema

    with scratch_schema(request.getfixturevalue("postgres_url"), prefix="st") as url:
        yield url


@pytest.fixture(scope="module")
def api_app(backend_url: str) -> Iterator[FastAPI]:
    """The app with its lifespan running (schema migrated) and a small market seeded."""
    app = create_app(make_settings(backend_url), live=InMemoryLiveStore(), clock=lambda: NOW)
    with TestClient(app) as client:
        headers = _auth_headers(backend_url)
        client.post("/parks", headers=headers, json={"id": "P1", "name": "Park 1"})
        for fid, park in (("F1", "P1"), ("F2", "P1")):
            client.post("/factories", headers=headers,
                        json=b.factory(fid, park=park, resources=[b.resource(f"{fid}-R1")]))
        client.post("/orders", headers=headers, json=b.order("O1"))
        app.state.auth_headers = headers
        yield app


@pytest.fixture(scope="module")
def auth_headers(api_app: FastAPI) -> dict[str, str]:
    headers: dict[str, str] = api_app.state.auth_headers
    return headers


def _auth_headers(database_url: str) -> dict[str, str]:
    """{} until the API authenticates; then a platform-admin key from ``sharefab admin``."""
    from cli import app as cli_app

    runner = CliRunner()
    if runner.invoke(cli_app, ["admin", "--help"]).exit_code != 0:
        return {}
    env = {"SHAREFAB_DATABASE_URL": database_url}
    from services.core.settings import get_settings

    get_settings.cache_clear()
    try:
        org = runner.invoke(cli_app, ["admin", "create-org", "st-platform", "--kind",
                                      "platform"], env=env)
        assert org.exit_code == 0, org.output
        key = runner.invoke(cli_app, ["admin", "create-key", "--org", "st-platform",
                                      "--role", "admin"], env=env)
        assert key.exit_code == 0, key.output
    finally:
        get_settings.cache_clear()
    return {"Authorization": f"Bearer {key.output.strip().splitlines()[-1]}"}


# The document is read from an app that never starts (no database needed for it); each case
# is sent to the running app of its backend (``app=``). schemathesis' lazy fixture loader
# would be the other way, but it writes a pytest node attribute pytest 9.2 no longer has.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(make_settings("sqlite://"), live=InMemoryLiveStore()))


# Generating these bodies (whole markets, factories with resources and windows) costs far
# more than answering them: fewer examples each keeps the run to a few minutes.
HEAVY = ["POST /scenario", "POST /factories", "POST /resources",
         "PATCH /resources/{resource_id}"]
HEAVY_EXAMPLES = max(1, EXAMPLES // 4)
# /readyz answers 503 by design here (no match worker runs beside this in-process app).
# /events/stream is server-sent events: it never ends unless asked to (max_events), so a
# generated request would hold the run forever; test_webhooks_stream.py covers its contract.
# /parks/{park_id}/live likewise (test_park_api.py covers it). POST /simulations starts a
# background simulation for every valid case (minutes of CPU each with cpsat over 14 days);
# tests/web/test_analyst_api.py covers its contract and its 422s.
PROBES = ["GET /readyz", "GET /events/stream", "GET /parks/{park_id}/live",
          "POST /simulations"]
# Generous: the machine the suite runs on is shared; a slow answer is not a wrong one.
REQUEST_TIMEOUT_S = 120


def _run(case: Any, app: FastAPI, headers: dict[str, str], backend_url: str) -> None:
    CASES[backend_url.split(":", 1)[0]] += 1
    case.call_and_validate(app=app, headers=headers, checks=CHECKS,
                           timeout=REQUEST_TIMEOUT_S)


@schema.exclude(name=HEAVY + PROBES).parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
def test_api__no_server_error_and_every_response_as_documented(
        case: Any, api_app: FastAPI, auth_headers: dict[str, str], backend_url: str) -> None:
    _run(case, api_app, auth_headers, backend_url)


@schema.include(name=HEAVY).parametrize()
@settings(max_examples=HEAVY_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
def test_api__large_bodies_no_server_error_and_as_documented(
        case: Any, api_app: FastAPI, auth_headers: dict[str, str], backend_url: str) -> None:
    _run(case, api_app, auth_headers, backend_url)


def test_zz_cases_counted() -> None:
    """At least 1,000 generated cases over both backends (run after the fuzz above)."""
    if not CASES:
        pytest.skip("the schemathesis cases were not selected in this run")
    print(f"schemathesis cases: {dict(CASES)}, {sum(CASES.values())} in all")
    assert set(CASES) == {"sqlite", "postgresql+psycopg"}, CASES
    assert sum(CASES.values()) >= 1000, CASES
