"""The market index the API keeps with its market copy: never stale on bookings, windows or
capacity, whoever writes them.

Each test quotes through the API (the cached, indexed path) after a change and checks the
plan against the database's bookings and calendars, and the cached view against the view
read straight from the database.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert

from domain import model as m
from matching.build import build_problem
from matching.market_index import IndexedScenario
from services.bookings.models import Booking
from services.core.db import session_scope
from services.quotes import service as quote_service
from services.resources.models import ResourceWindow
from tests.services import builders as b
from tests.services.conftest import NOW
from tests.services.test_market_cache import _other_process, _views

FAST = {"time_limit_s": 0.3}


def _market(client: Any, hours: float = 12) -> None:
    """One machine open 8:00 + ``hours``; orders of one 4 h lot each (4 pieces x 60 min)."""
    client.post("/factories", json=b.factory("F1", resources=[
        b.resource("R1", windows=[(8, 8 + hours)])]))
    for k in range(3):
        client.post("/orders", json=b.order(f"O{k}", quantity=4, min_lot=4, due=b._t(60),
                                            steps=[b.step("s1", minutes_per_piece=60.0)]))


def _lots(quote: dict[str, Any]) -> list[tuple[str, datetime, datetime]]:
    return [(a["resource"], datetime.fromisoformat(a["start"]), datetime.fromisoformat(a["end"]))
            for a in quote["plan"]["allocations"]]


def _booked(client: Any) -> list[tuple[str, datetime, datetime]]:
    with session_scope(client.app.state.session_factory) as db:
        return [(x.resource_id, x.start, x.end) for x in db.query(Booking).all()]


def _overlaps(lots: list[tuple[str, datetime, datetime]],
              booked: list[tuple[str, datetime, datetime]]) -> list[tuple[Any, Any]]:
    return [(x, y) for x in lots for y in booked
            if x[0] == y[0] and x[1] < y[2] and y[1] < x[2]]


def _indexed_view(client: Any, order_id: str) -> IndexedScenario:
    """The API's market view for ``order_id``, cut from its cached, indexed market copy."""
    state = client.app.state
    with session_scope(state.session_factory) as db:
        view = quote_service.market_for(db, order_id=order_id, unavailable=set(), now=NOW,
                                        cache=state.market_cache)
    assert isinstance(view, IndexedScenario)
    assert view.index() is not None
    return view


def _cheapest(client: Any, order_id: str) -> dict[str, Any]:
    answer = client.post(f"/orders/{order_id}/quotes", params=FAST)
    assert answer.status_code == 201, answer.text
    return next(q for q in answer.json() if q["kind"] == "cheapest")


def test_index__an_accepted_quote_is_never_offered_again(client):
    _market(client)
    cache = client.app.state.market_cache
    first = _cheapest(client, "O0")
    second_before = _cheapest(client, "O1")
    assert _lots(first)[0][1] == _lots(second_before)[0][1]  # both want the morning
    assert client.post(f"/quotes/{first['id']}/accept").status_code == 201
    booked = _booked(client)
    assert booked
    second = _cheapest(client, "O1")
    assert _overlaps(_lots(second), booked) == []
    assert _lots(second)[0][1] >= booked[0][2]
    assert cache.reloads == 1  # the market copy and its index were kept
    assert cache.booking_reloads == 2  # the bookings were read again
    cached, fresh = _views(client, "O1")
    assert cached == fresh


def test_index__a_booking_written_elsewhere_is_seen(client):
    """Another process (a second replica, the matcher worker) books the morning."""
    _market(client)
    cache = client.app.state.market_cache
    before = _lots(_cheapest(client, "O0"))
    start = before[0][1]
    with _other_process(client) as other, session_scope(other) as db:
        db.execute(insert(Booking).values(
            id="ELSEWHERE-B1", resource_id="R1", order_id=None, step_id=None, quantity=0,
            start=start, end=start + timedelta(hours=6), status="booked", exclusive=True,
            source="scenario"))
    after = _lots(_cheapest(client, "O0"))
    assert _overlaps(after, _booked(client)) == []
    assert after[0][1] >= start + timedelta(hours=6)
    assert (cache.reloads, cache.booking_reloads) == (1, 2)


def test_index__a_window_removed_elsewhere_is_never_offered(client):
    _market(client, hours=12)
    cache = client.app.state.market_cache
    morning = _lots(_cheapest(client, "O0"))[0]
    day_two = NOW.replace(hour=0) + timedelta(days=1, hours=8)
    with _other_process(client) as other, session_scope(other) as db:
        db.execute(delete(ResourceWindow).where(ResourceWindow.resource_id == "R1"))
        db.execute(insert(ResourceWindow).values(resource_id="R1", start=day_two,
                                                 end=day_two + timedelta(hours=8),
                                                 source="api"))
    lots = _lots(_cheapest(client, "O0"))
    assert lots[0][1] != morning[1]
    assert all(day_two <= s and e <= day_two + timedelta(hours=8) for _, s, e in lots)
    assert cache.reloads == 2
    cached, fresh = _views(client, "O0")
    assert cached == fresh


def test_index__a_capacity_change_rebuilds_the_index(client):
    _market(client)
    cache = client.app.state.market_cache
    first = _cheapest(client, "O0")
    assert client.post(f"/quotes/{first['id']}/accept").status_code == 201
    # One machine: the next order waits for the booked lot.
    assert _lots(_cheapest(client, "O1"))[0][1] >= _booked(client)[0][2]
    assert client.patch("/resources/R1", json={"capacity": 2}).status_code == 200
    # A line of two: the next order runs beside the booked lot.
    side_by_side = _lots(_cheapest(client, "O1"))
    assert side_by_side[0][1] < _booked(client)[0][2]
    assert cache.reloads == 2
    cached, fresh = _views(client, "O1")
    assert cached == fresh
    assert [r.capacity for f in cached.factories for r in f.resources] == [2]


def test_index__free_intervals_come_from_the_views_bookings(client):
    """The engine's facts of the indexed view equal those of the plain view, bookings
    included: the index holds no booking of its own to go stale."""
    _market(client)
    first = _cheapest(client, "O0")
    assert client.post(f"/quotes/{first['id']}/accept").status_code == 201
    view = _indexed_view(client, "O1")
    assert view.bookings
    indexed = build_problem(view, keep_per_step=4, layouts=True)
    plain = build_problem(view.plain(), keep_per_step=4, layouts=True)
    assert indexed == plain
    free = indexed.resources["R1"].free
    booked = [(b.start, b.end) for b in view.bookings]
    origin = view.horizon_start
    for s, e in free:
        for bs, be in booked:
            assert not (origin + timedelta(minutes=s) < be and bs < origin + timedelta(minutes=e))


def test_index__a_scenario_copied_with_other_factories_drops_the_index(client):
    _market(client)
    view = _indexed_view(client, "O0")
    copy = dataclasses.replace(view, factories=(*view.factories,))
    assert copy.index() is None  # the builder takes the exact path for it
    rebooked = dataclasses.replace(view, bookings=(m.Booking("X", "R1", NOW, NOW),))
    assert rebooked.index() is not None  # bookings are not in the index
