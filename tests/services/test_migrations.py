"""The Alembic migrations build exactly the schema the ORM models describe, on both backends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

import services.migrations
import services.migrations.models
from services.core.db import downgrade, make_engine, migrate, scratch_schema


def test_migrations__schema_matches_models(client):
    engine = client.app.state.engine  # the app migrated it at start
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diff = compare_metadata(context, services.migrations.models.Base.metadata)
    assert diff == []


def test_migrations__down_to_base_and_up_again(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    assert "bookings" in inspect(engine).get_table_names()
    downgrade(engine, "base")
    assert "bookings" not in inspect(engine).get_table_names()
    migrate(engine)
    migrate(engine)  # a second upgrade at the next start is a no-op
    tables = set(inspect(engine).get_table_names())
    assert set(services.migrations.models.Base.metadata.tables) <= tables
    engine.dispose()


@contextmanager
def _fresh(database_url: str) -> Iterator[str]:
    """An empty database: the SQLite file of this test, or a new PostgreSQL schema."""
    if not database_url.startswith("postgresql"):
        yield database_url
        return
    with scratch_schema(database_url.split("?", 1)[0], prefix="t_mig") as url:
        yield url


@pytest.mark.timeout(90)  # without the advisory lock PostgreSQL's two upgrades block for good
def test_migrations__concurrent_starts_upgrade_once(database_url):
    """Two processes starting at once on an empty database (threads here) both succeed."""
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            migrate(engine)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    with _fresh(database_url) as url:
        engines = [make_engine(url) for _ in range(2)]
        threads = [threading.Thread(target=start, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "an upgrade is still waiting"
        assert errors == []
        with engines[0].connect() as conn:
            heads = set(MigrationContext.configure(conn).get_current_heads())
        assert heads == set(ScriptDirectory(str(Path(services.migrations.__file__).parent))
                            .get_heads())
        for e in engines:
            e.dispose()


def test_migration_0005__old_order_statuses_read_as_lifecycle_states(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine, "0001")
    insert = text(
        "INSERT INTO orders (id, position, customer, material, quantity, due, value, pricing, "
        "max_factories, min_lot, certifications, parks, status, created_at) VALUES "
        "(:id, 0, 'C1', 'al6061', 1, '2026-12-02 00:00:00', 0, 'cheapest', 1, 1, '[]', '[]', "
        ":status, '2026-12-01 00:00:00')")
    with engine.begin() as conn:
        for oid, status in (("O1", "booked"), ("O2", "in_progress"), ("O3", "quoted")):
            conn.execute(insert, {"id": oid, "status": status})
    migrate(engine)
    status = text("SELECT id, status FROM orders ORDER BY id")
    with engine.connect() as conn:
        assert conn.execute(status).all() == [
            ("O1", "accepted"), ("O2", "in_production"), ("O3", "quoted")]
    downgrade(engine, "0001")
    with engine.connect() as conn:
        assert conn.execute(status).all() == [
            ("O1", "booked"), ("O2", "in_progress"), ("O3", "quoted")]
    engine.dispose()
