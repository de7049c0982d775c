"""Database plumbing: engine, sessions, the ORM base, and schema upgrades at start.

Every request runs in one transaction (commit on success, rollback on any error), and so does
every unit of work of a worker (``session_scope``). SQLite gets WAL, a busy timeout, enforced
foreign keys and ``BEGIN IMMEDIATE`` transactions: pysqlite would otherwise run SELECTs outside
any transaction, and the booking check-then-insert could interleave.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import DateTime, Engine, MetaData, Select, create_engine, event, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

QueryT = TypeVar("QueryT", bound="Select[Any]")

# Stable constraint names, so Alembic batch mode on SQLite can find and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite stores naive text, so we re-attach UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get their directory created and the pragmas above."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": 30}
        connect_args.update(kwargs.pop("connect_args", {}))
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _sqlite_pragmas(engine)
        return engine
    timeout_ms = kwargs.pop("statement_timeout_ms", 0)
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if timeout_ms and engine.dialect.name == "postgresql":
        _statement_timeout(engine, timeout_ms)
    return engine


def engine_options(url: str, *, pool_timeout_s: float = 5.0,
                   statement_timeout_ms: int = 10_000) -> dict[str, Any]:
    """``make_engine`` keywords that bound every wait on a server database (issue 12).

    ``pool_timeout``: a request waits that long for a pooled connection, then 503s instead of
    queueing for minutes; ``connect_timeout``: an unreachable server fails in seconds. The
    statement timeout is set per connection (``statement_timeout_ms``; see ``make_engine``).
    SQLite has none of these: its waits are the busy timeout.
    """
    if url.startswith("sqlite"):
        return {}
    return {"pool_timeout": pool_timeout_s, "connect_args": {"connect_timeout": 3},
            "statement_timeout_ms": statement_timeout_ms}


def engine_for(settings: Any) -> Engine:
    """The engine of ``settings`` (its URL and its fault timeouts): API and workers alike."""
    url = settings.sqlalchemy_url
    return make_engine(url, **engine_options(
        url, pool_timeout_s=settings.db_pool_timeout_s,
        statement_timeout_ms=settings.db_statement_timeout_ms))


def _statement_timeout(engine: Engine, timeout_ms: int) -> None:
    # Set on connect rather than in the URL's "options", which tests and deployments use for
    # the search_path: a psycopg connect argument would replace theirs.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET statement_timeout = {int(timeout_ms)}")
        cursor.close()
        dbapi_connection.commit()


def release(session: Session) -> None:
    """End the transaction so the connection goes back to the pool before a slow outside
    call (Redis): a stalled dependency then cannot drain the pool and stall requests that
    need only the database. Loaded rows stay readable (``expire_on_commit=False``)."""
    session.commit()


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite; we emit BEGIN ourselves below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        _set_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: concurrent writers queue (busy_timeout)
        # instead of failing with SQLITE_BUSY_SNAPSHOT halfway through a booking.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _set_wal(cursor: Any) -> None:
    """Switch a fresh file to WAL. Two processes opening a new file at once can both hold a
    shared lock and both want the exclusive one; SQLite then answers "database is locked" at
    once, without the busy handler, so we retry. Once set, WAL sticks to the file."""
    for attempt in range(100):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)


@contextmanager
def scratch_schema(base_url: str, prefix: str = "scratch") -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped on exit.

    Tests and benchmarks use it to run migrations and data against the real server without
    touching anything else in the database.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


# SQLite and PostgreSQL take a signed 64-bit OFFSET; beyond it the driver fails (a 500).
# List views declare this bound on their ``offset`` query parameter.
MAX_OFFSET = 2**63 - 1


def page(query: QueryT, *, limit: int | None, offset: int) -> QueryT:
    """``query`` cut to one page of a list endpoint (no limit: everything from ``offset``)."""
    query = query.offset(offset)
    return query if limit is None else query.limit(limit)


def next_position(session: Session, column: Any) -> int:
    """The position after the last row's, so imports keep document order."""
    return session.scalar(select(func.coalesce(func.max(column), -1) + 1)) or 0


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # Every factory's sessions bump the market version with each market write (API, CLI,
    # workers, benchmarks alike); imported here because that module needs Base from this one.
    from services.core import market_version

    market_version.install()
    # expire_on_commit=False: rows stay readable after commit (responses, dispatcher hook).
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work for workers: commit on success, roll back on error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_db(request: Request) -> Iterator[Session]:
    """The request's session: one transaction per request, committed before the response."""
    with session_scope(request.app.state.session_factory) as session:
        yield session


# scope="function": commit before the response goes out, so a failed commit is an error answer.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


_MIGRATION_LOCK = 0x5F_AB_0001  # any constant the other processes agree on


def _alembic(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parents[1] / "migrations"))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "heads") -> None:
    """Upgrade the schema with Alembic (config built in code: works from an installed package).

    "heads": branches of the revision graph (features built side by side) all apply.
    """
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several API replicas may start at once: one upgrades, the others wait, then
            # find nothing left to do. The lock ends with this transaction.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        command.upgrade(_alembic(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Walk the schema back to ``revision`` ("base": no tables)."""
    from alembic import command

    with engine.begin() as connection:
        command.downgrade(_alembic(connection), revision)
