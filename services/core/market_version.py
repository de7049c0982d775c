"""The market version: one number every market write bumps, in the write's own transaction.

Each API process keeps a copy of the market between quotes (``services.scenario.market_cache``)
and must know, on every quote, whether any process (a second API replica, a ``sharefab`` CLI
import, a worker, the benchmark's bulk load) changed the market since. Counting rows misses an
edit in place; a version bumped by the writer itself misses nothing written through the ORM
``Session``. So a listener on every ``Session`` (``install``, called by
``services.core.db.make_session_factory``, so on every session factory):

- before a flush that adds, changes or deletes a row of a market table, and before a bulk
  ``insert / update / delete`` of one (``session.execute``: the scenario import's deletes,
  ``bench/market_load.py``'s inserts, the CLI's updates), bumps ``market_version.version``;
- once per transaction, before the transaction's first market write: the version row is the
  first lock a market writer takes, so two writers queue on it and never deadlock over market
  rows they take in different orders (a PostgreSQL row lock; SQLite's write lock is
  whole-database anyway);
- as ``INSERT ... ON CONFLICT (id) DO UPDATE SET version = version + 1`` (PostgreSQL and
  SQLite), so it also works when the row is missing.

SQL that bypasses the ``Session`` (psql, a Core ``engine.begin()`` script) bumps nothing: the
cache's ``max_age_s`` is the safety net for it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from services.core.db import Base

# Tables whose rows end up in the market copy (directly or through a factory's facts).
MARKET_TABLES = frozenset({"factories", "resources", "windows", "parks", "market"})
_BUMPED = "sharefab.market_version_bumped"  # Session.info: this transaction bumped already
_ROW = 1  # the id of market_version's only row


class MarketVersion(Base):
    """A single row (id 1): how many transactions have written the market so far."""

    __tablename__ = "market_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


def current(session: Session) -> int:
    """The database's market version (one primary-key lookup; 0 before any market write)."""
    return int(session.scalar(select(MarketVersion.version)
                              .where(MarketVersion.id == _ROW)) or 0)


def bump(session: Session) -> None:
    """Count one more market write, inside ``session``'s transaction (once per transaction)."""
    if session.info.get(_BUMPED):
        return
    session.info[_BUMPED] = True
    dialect = session.get_bind().dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(MarketVersion)
    table = MarketVersion.__table__
    session.connection().execute(
        upsert.values(id=_ROW, version=1).on_conflict_do_update(
            index_elements=[table.c.id], set_={"version": table.c.version + 1}))


def install() -> None:
    """Listen on every ``Session`` (idempotent: called for each session factory)."""
    if event.contains(Session, "before_flush", _bump_before_flushing_market_rows):
        return
    event.listen(Session, "before_flush", _bump_before_flushing_market_rows)
    event.listen(Session, "do_orm_execute", _bump_before_bulk_market_write)
    event.listen(Session, "after_transaction_end", _forget_bump)


def _bump_before_flushing_market_rows(session: Session, _context: Any,
                                      _instances: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) in MARKET_TABLES:
            bump(session)
            return


def _bump_before_bulk_market_write(state: Any) -> None:
    """``session.execute(insert / update / delete(...))`` on a market table."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in MARKET_TABLES:
        bump(state.session)


def _forget_bump(session: Session, transaction: SessionTransaction) -> None:
    """A transaction or savepoint ended: the next one bumps again (a rolled-back savepoint
    may have taken its bump with it; an extra bump costs one reload, a missed one a stale
    price). A flush's internal subtransaction ending changes nothing."""
    if transaction.parent is None or transaction.nested:
        session.info.pop(_BUMPED, None)
