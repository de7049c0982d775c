"""The market version: one number every market write bumps, in the write's own transaction
(row 1), and the bookings version: the same for every booking write (row 2), so an accepted
quote drops the API's copy of the bookings without dropping its copy of the market.

Each API process keeps a copy of the market between quotes (``services.scenario.market_cache``)
and must know, on every quote, whether any process (a second API replica, a ``sharefab`` CLI
import, a worker, the benchmark's bulk load) changed the market since. Counting rows misses an
edit in place; a version bumped by the writer itself misses nothing written through the ORM
``Session``. So listeners on every ``Session`` (``install``, called by
``services.core.db.make_session_factory``, so on every session factory):

- note a flush that adds, changes or deletes a row of a market table, and a bulk
  ``insert / update / delete`` of one (``session.execute``: the scenario import's deletes,
  ``bench/market_load.py``'s inserts, the CLI's updates);
- at commit, after the last flush, a transaction that wrote the market bumps
  ``market_version.version`` (one statement per transaction, however many rows), as
  ``INSERT ... ON CONFLICT (id) DO UPDATE SET version = version + 1`` (PostgreSQL and SQLite),
  so it also works when the row is missing.

The version row is the last lock a market writer takes, just before it commits, and it waits
for nothing while holding it: two writers never deadlock over it (whatever market rows they
locked, in whatever order), and writers queue on it only for the length of a commit. A bump
taken earlier (before the first write, or after each flush) would put it in the middle of the
writers' row locks: a writer holding a resource row and waiting for the version while the
version's holder waits for that row (PostgreSQL row locks; SQLite's write lock is
whole-database anyway). A rolled-back transaction bumps nothing.

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
# Bookings change with every accepted quote: they have a counter of their own (row 2), so a
# booking drops the API's copy of the bookings (``MarketCache.bookings``), not the market's.
BOOKING_TABLES = frozenset({"bookings"})
_WRITTEN = "sharefab.market_written"  # Session.info: this transaction wrote the market
_BOOKED = "sharefab.bookings_written"  # Session.info: this transaction wrote bookings
_ROW = 1  # the market's row of market_version
BOOKINGS_ROW = 2  # the bookings' row


class MarketVersion(Base):
    """Row 1: how many transactions have written the market so far; row 2: the bookings."""

    __tablename__ = "market_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


def current(session: Session) -> int:
    """The database's market version (one primary-key lookup; 0 before any market write)."""
    return int(session.scalar(select(MarketVersion.version)
                              .where(MarketVersion.id == _ROW)) or 0)


def bookings_current(session: Session) -> int:
    """The database's bookings version (0 before any booking write)."""
    return int(session.scalar(select(MarketVersion.version)
                              .where(MarketVersion.id == BOOKINGS_ROW)) or 0)


def bump(session: Session, row: int = _ROW) -> None:
    """Count one more market (or, ``row=BOOKINGS_ROW``, bookings) write, inside ``session``'s
    transaction."""
    dialect = session.get_bind().dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(MarketVersion)
    table = MarketVersion.__table__
    session.connection().execute(
        upsert.values(id=row, version=1).on_conflict_do_update(
            index_elements=[table.c.id], set_={"version": table.c.version + 1}))


def install() -> None:
    """Listen on every ``Session`` (idempotent: called for each session factory)."""
    if event.contains(Session, "after_flush", _note_flushed_market_rows):
        return
    event.listen(Session, "after_flush", _note_flushed_market_rows)
    event.listen(Session, "do_orm_execute", _note_bulk_market_write)
    event.listen(Session, "before_commit", _bump_if_the_market_was_written)
    event.listen(Session, "after_transaction_end", _forget_writes)


def _note_flushed_market_rows(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in MARKET_TABLES:
            session.info[_WRITTEN] = True
        elif table in BOOKING_TABLES:
            session.info[_BOOKED] = True


def _note_bulk_market_write(state: Any) -> None:
    """``session.execute(insert / update / delete(...))`` on a market table."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    name = getattr(getattr(state.statement, "table", None), "name", None)
    if name in MARKET_TABLES:
        state.session.info[_WRITTEN] = True
    elif name in BOOKING_TABLES:
        state.session.info[_BOOKED] = True


def _bump_if_the_market_was_written(session: Session) -> None:
    # Commit flushes after this hook: flush now, so the last flush's market rows count too.
    session.flush()
    if session.info.get(_WRITTEN):
        bump(session)
    if session.info.get(_BOOKED):  # always after the market's row: one lock order for all
        bump(session, BOOKINGS_ROW)


def _forget_writes(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended (committed and bumped, or rolled back). A savepoint
    ending keeps the note: a write rolled back with its savepoint costs one extra bump (one
    reload); forgetting an earlier write of the transaction would cost a stale price."""
    if transaction.parent is None:
        session.info.pop(_WRITTEN, None)
        session.info.pop(_BOOKED, None)
