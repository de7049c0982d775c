"""The API under test, on SQLite (a temp file) and on PostgreSQL (a schema of its own).

``client`` is parametrised over both backends, so every test that takes it runs twice. The
PostgreSQL variant uses the ``postgres_url`` fixture: skipped locally when the server is down,
a failure under CI=true. Each test session gets a fresh schema ``t_<random>`` (search_path via
the connection options), migrated by the app's own Alembic upgrade, and every test starts from
empty tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from services.api.app import create_app
from services.core.db import Base, scratch_schema, session_scope
from services.core.settings import Settings
from services.live.memory import InMemoryLiveStore
from services.parks import service as park_service
from services.parks.models import ParkCreate
from tests.services.auth_helpers import as_platform

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
TABLES = ["quote_jobs", "bookings", "quotes", "order_steps", "orders", "windows", "resources",
          "factories", "parks", "market", "audit_events", "api_keys", "accounts",
          "organisations", "order_events", "webhooks", "webhook_deliveries", "lot_records",
          "ratings", "simulation_runs"]


@pytest.fixture(scope="session")
def pg_schema_url(request: pytest.FixtureRequest) -> Iterator[str]:
    with scratch_schema(request.getfixturevalue("postgres_url"), prefix="t") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sharefab.db'}"
    url: str = request.getfixturevalue("pg_schema_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT to_regclass('bookings')")).scalar()
        if exists is not None:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def live() -> InMemoryLiveStore:
    return InMemoryLiveStore()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    # Test receivers listen on 127.0.0.1; test_webhooks_stream checks the refusal with false.
    fields: dict[str, Any] = {"housekeeping_in_process": False, "webhook_allow_private": True,
                              **overrides}
    return Settings(database_url=database_url, environment="test", mqtt_enabled=False,
                    match_in_process=False,
                    quote_default_time_limit_s=2.0, **fields)


# The park the builders' factories name by default: a factory must name a registered park.
DEFAULT_PARK = "P9"


def seed_park(app: Any, park_id: str = DEFAULT_PARK) -> None:
    """Register ``park_id`` straight through the service (no route, no auth in the way)."""
    with session_scope(app.state.session_factory) as db:
        if park_service.get(db, park_id=park_id) is None:
            park_service.create(db, park_in=ParkCreate(id=park_id, name=park_id, city=""))


@pytest.fixture
def client(database_url: str, live: InMemoryLiveStore) -> Iterator[TestClient]:
    """The API, every request sent as the platform admin (role tests make their own keys)."""
    app = create_app(make_settings(database_url), live=live, clock=lambda: NOW)
    with TestClient(app) as c:
        seed_park(app)
        yield as_platform(c)


@pytest.fixture
def anonymous(database_url: str, live: InMemoryLiveStore) -> Iterator[TestClient]:
    """The API with no credentials at all."""
    app = create_app(make_settings(database_url), live=live, clock=lambda: NOW)
    with TestClient(app) as c:
        seed_park(app)
        yield c


def row_counts(client: TestClient) -> dict[str, int]:
    """Rows per table: compared before and after a refused request."""
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def test_tables_list_is_complete() -> None:
    assert sorted(TABLES) == sorted(Base.metadata.tables)
