"""services.scenario.market_cache: the API's in-memory market, and when it is read again.

Each test compares the cached view a quote is priced against with the view read straight from
the database: they must be equal whenever the cache claims to be fresh.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, update

from domain import model as m
from services.core.db import session_scope
from services.quotes import service as quote_service
from services.resources.models import Resource
from tests.services import builders as b
from tests.services.conftest import NOW

FAST = {"time_limit_s": 0.3}


def _views(client: Any, order_id: str = "O1") -> tuple[m.Scenario, m.Scenario]:
    """(the cached view, the view read now) of ``order_id``."""
    state = client.app.state
    with session_scope(state.session_factory) as db:
        cached = quote_service.market_for(db, order_id=order_id, unavailable=set(), now=NOW,
                                          cache=state.market_cache)
        fresh = quote_service.market_for(db, order_id=order_id, unavailable=set(), now=NOW)
    return cached, fresh


def _a_resource(client: Any) -> dict[str, Any]:
    return client.get("/resources").json()[0]


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


def test_market_cache__rows_added_elsewhere_are_noticed(client):
    """Another process (its own engine, no listener) adds a resource: the fingerprint sees it."""
    client.post("/scenario", json=b.example())
    cache = client.app.state.market_cache
    _views(client)
    r = _a_resource(client)
    url = client.app.state.settings.sqlalchemy_url
    other = create_engine(url)
    with other.begin() as conn:
        conn.execute(Resource.__table__.insert().values(
            id="ELSEWHERE-1", factory_id=r["factory"], position=99, process=r["process"],
            capacity=1, materials=[], speed=1.0, setup_min=0, time_share_per_hour=1.0))
    other.dispose()
    cached, fresh = _views(client)
    assert cache.reloads == 2
    assert cached == fresh


def test_market_cache__an_edit_elsewhere_waits_for_max_age(client):
    """An edit in place by another process changes no fingerprint: trusted until max age."""
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
