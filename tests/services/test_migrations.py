"""The Alembic migrations build exactly the schema the ORM models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import services.models
from services.db import downgrade, make_engine, migrate


def test_migrations__schema_matches_models(client):
    engine = client.app.state.engine  # the app migrated it at start
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diff = compare_metadata(context, services.models.Base.metadata)
    assert diff == []


def test_migrations__down_to_base_and_up_again(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(engine)
    assert "bookings" in inspect(engine).get_table_names()
    downgrade(engine, "base")
    assert "bookings" not in inspect(engine).get_table_names()
    migrate(engine)
    migrate(engine)  # a second upgrade at the next start is a no-op
    assert set(services.models.Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
