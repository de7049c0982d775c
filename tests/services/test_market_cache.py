"""services.scenario.market_cache: the API's in-memory market, and when it is read again.

Each test compares the cached view a quote is priced against with the view read straight from
the database: they must be equal whenever the cache claims to be fresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from domain import model as m
from matching.market_index import IndexedScenario
from services.core.db import make_engine, make_session_factory, session_scope
from services.core.market_version import current as market_version
from services.quotes import service as quote_service
from services.resources.models import Resource
from tests.services import builders as b
from tests.services.conftest import NOW

FAST = {"time_limit_s": 0.3}


def _views(client: Any, order_id: str = "O1") -> tuple[m.Scenario, m.Scenario]:
    """(the cached view, the view read now) of ``order_id``, both as plain scenarios (the
    cached one carries the market index too)."""
    state = client.app.state
    with session_scope(state.session_factory) as db:
        cached = quote_service.market_for(db, order_id=order_id, unavailable=set(), now=NOW,
                                          cache=state.market_cache)
        fresh = quote_service.market_for(db, order_id=order_id, unavailable=set(), now=NOW)
    assert isinstance(cached, IndexedScenario)
    assert cached.index() is not None
    return cached.plain(), fresh


def _a_resource(client: Any) -> dict[str, Any]:
    resource: dict[str, Any] = client.get("/resources").json()[0]
    return resource


def test_market_cache__quotes_reuse_one_read(client):
    client.post("/scenario", json=b.example())
    cache = client.app.state.market_cache
    assert client.post("/orders/O1/quotes", params=FAST).status_code == 201
    assert client.post("/orders/O1/quotes", params=FAST).status_code == 201
    cached, fresh = _views(client)
    assert cache.reloads == 1
    assert cached == fresh


def test_market_cache__own_write_is_seen_by_the_next_quote(client):
    client.post("/scenario", json=b.example())
    cache = client.app.state.market_cache
    _views(client)
    r = _a_resource(client)
    answer = client.patch(f"/resources/{r['id']}", json={"setup_min": r["setup_min"] + 7})
    assert answer.status_code == 200
    cached, fresh = _views(client)
    assert cache.reloads == 2
    assert cached == fresh
    assert any(x.id == r["id"] and x.setup_min == r["setup_min"] + 7
               for f in cached.factories for x in f.resources)


def test_market_cache__a_refused_write_keeps_the_copy(client):
    client.post("/scenario", json=b.example())
    cache = client.app.state.market_cache
    _views(client)
    r = _a_resource(client)
    assert client.patch(f"/resources/{r['id']}", json={"speed": -1}).status_code == 422
    _views(client)
    assert cache.reloads == 1


@contextmanager
def _other_process(client: Any) -> Iterator[sessionmaker[Session]]:
    """A second process's sessions: its own engine and session factory, no cache of its own
    (a second API replica, a ``sharefab`` CLI import, a worker)."""
    engine = make_engine(client.app.state.settings.sqlalchemy_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def test_market_cache__a_price_edited_elsewhere_is_seen_by_the_next_quote(client):
    """Another process changes a resource's price in place: the next quote here prices it."""
    client.post("/scenario", json=b.example())
    cache = client.app.state.market_cache
    assert cache.max_age_s >= 600  # the safety net plays no part below
    _views(client)
    r = _a_resource(client)
    with _other_process(client) as other, session_scope(other) as db:
        row = db.get(Resource, r["id"])
        assert row is not None
        assert row.time_share_per_hour != 777.0
        row.time_share_per_hour = 777.0
    cached, fresh = _views(client)
    assert cache.reloads == 2
    assert cached == fresh
    assert any(x.id == r["id"] and x.pricing.time_share_per_hour == 777.0
               for f in cached.factories for x in f.resources)


def test_market_cache__bulk_writes_elsewhere_are_seen(client):
    """The CLI's and the import's path: ``session.execute(insert / update / delete)``."""
    client.post("/scenario", json=b.example())
    cache = client.app.state.market_cache
    _views(client)
    r = _a_resource(client)
    with _other_process(client) as other:
        with session_scope(other) as db:
            db.execute(insert(Resource).values(
                id="ELSEWHERE-1", factory_id=r["factory"], position=99, process=r["process"],
                capacity=1, materials=[], speed=1.0, setup_min=0, time_share_per_hour=1.0))
        cached, fresh = _views(client)
        assert (cache.reloads, cached) == (2, fresh)
        with session_scope(other) as db:
            db.execute(update(Resource).where(Resource.id == r["id"]).values(setup_min=555))
        cached, fresh = _views(client)
        assert (cache.reloads, cached) == (3, fresh)
        with session_scope(other) as db:
            db.execute(delete(Resource).where(Resource.id == "ELSEWHERE-1"))
        cached, fresh = _views(client)
        assert (cache.reloads, cached) == (4, fresh)
    assert not any(x.id == "ELSEWHERE-1" for f in cached.factories for x in f.resources)


def test_market_cache__a_rolled_back_write_elsewhere_keeps_the_copy(client):
    client.post("/scenario", json=b.example())
    cache = client.app.state.market_cache
    _views(client)
    r = _a_resource(client)
    with _other_process(client) as other, other() as db:
        db.execute(update(Resource).where(Resource.id == r["id"]).values(setup_min=555))
        db.rollback()
    _views(client)
    assert cache.reloads == 1


def test_market_cache__a_rolled_back_savepoint_does_not_lose_the_bump(client):
    """The bump taken inside a savepoint that rolls back is taken again by the next write."""
    client.post("/scenario", json=b.example())
    cache = client.app.state.market_cache
    _views(client)
    r = _a_resource(client)
    with _other_process(client) as other, session_scope(other) as db:
        savepoint = db.begin_nested()
        db.execute(update(Resource).where(Resource.id == r["id"]).values(setup_min=444))
        savepoint.rollback()
        db.execute(update(Resource).where(Resource.id == r["id"]).values(setup_min=555))
    cached, fresh = _views(client)
    assert (cache.reloads, cached) == (2, fresh)


def test_market_cache__sql_bypassing_the_session_waits_for_max_age(client):
    """A Core write (no ORM Session, so no listener: psql, a hand-written script) changes no
    version: only the ``max_age_s`` safety net catches it."""
    client.post("/scenario", json=b.example())
    cache = client.app.state.market_cache
    _views(client)
    r = _a_resource(client)
    other = create_engine(client.app.state.settings.sqlalchemy_url)
    with other.begin() as conn:
        conn.execute(update(Resource).where(Resource.id == r["id"]).values(setup_min=555))
    other.dispose()
    cached, fresh = _views(client)
    assert cached != fresh  # the documented blind spot
    cache.max_age_s = 0.0
    cached, fresh = _views(client)
    assert cached == fresh
    assert cache.reloads == 2


@pytest.mark.timeout(60)
def test_market_cache__two_market_writers_do_not_deadlock(client):
    """Writer A holds resource 1 and goes on to resource 2; writer B locks resource 2 (as a
    PATCH does: ``FOR UPDATE`` first) and commits while A waits for it.

    Without a version this is no deadlock (A waits for B's commit). A bump taken anywhere but
    at commit would make one: A holding the version waiting for resource 2, B holding
    resource 2 waiting for the version. PostgreSQL row locks; SQLite's whole-database write
    lock serialises the two anyway."""
    client.post("/scenario", json=b.example())
    setup_before = {r["id"]: r["setup_min"] for r in client.get("/resources").json()[:2]}
    first, second = ids = list(setup_before)
    assert len(ids) == 2
    with session_scope(client.app.state.session_factory) as db:
        before = market_version(db)
    errors: list[BaseException] = []
    a_holds_first, b_holds_second = threading.Event(), threading.Event()

    def increment(db: Session, rid: str, *, lock: bool = False) -> None:
        row = db.get(Resource, rid, with_for_update=lock)
        assert row is not None
        # incremented in SQL: the lost update of a read-modify-write in Python is not what
        # this test is about
        row.setup_min = Resource.setup_min + 1  # type: ignore[assignment]
        db.flush()

    def writer_a(factory: sessionmaker[Session]) -> None:
        try:
            with session_scope(factory) as db:
                increment(db, first)
                a_holds_first.set()
                b_holds_second.wait(3)  # on SQLite B waits for A's commit: go on regardless
                increment(db, second)  # waits for B's commit on PostgreSQL
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    def writer_b(factory: sessionmaker[Session]) -> None:
        try:
            a_holds_first.wait(10)
            with session_scope(factory) as db:
                increment(db, second, lock=True)
                b_holds_second.set()
                time.sleep(0.3)  # A reaches resource 2 and waits for it meanwhile
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    with _other_process(client) as a, _other_process(client) as c:
        threads = [threading.Thread(target=writer_a, args=(a,)),
                   threading.Thread(target=writer_b, args=(c,))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a market writer is still waiting"
    assert errors == []
    with session_scope(client.app.state.session_factory) as db:
        assert market_version(db) == before + 2
        after = {rid: db.scalar(select(Resource.setup_min).where(Resource.id == rid))
                 for rid in ids}
    assert after == {first: setup_before[first] + 1, second: setup_before[second] + 2}
