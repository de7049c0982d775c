"""Quotes from the real matching engine, atomic acceptance, no double booking, progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from matching import engine as matching_engine
from services import bookings
from services.bookings.dispatch import work_order_fields
from services.core.db import session_scope
from services.core.errors import ConflictError, InvalidError, NotFoundError
from services.live.store import LiveState
from services.orders.models import Order
from services.quotes.models import Quote
from tests.services import builders as b
from tests.services.concurrency import race
from tests.services.conftest import NOW, row_counts

FAST = {"time_limit_s": 0.5}


def _quote(client, order_id: str) -> list[dict[str, Any]]:
    answer = client.post(f"/orders/{order_id}/quotes", params=FAST)
    assert answer.status_code == 201, answer.text
    quotes: list[dict[str, Any]] = answer.json()
    return quotes


def _contended_market(client, *, capacity: int, orders: int) -> None:
    """One resource with an 8 h window; each order is one 6 h lot on it: any two overlap."""
    client.post("/factories", json=b.factory("F1", resources=[
        b.resource("R1", capacity=capacity, windows=[(8, 16)])]))
    for k in range(orders):
        client.post("/orders", json=b.order(f"O{k}", quantity=60, min_lot=60, due=b._t(14),
                                            steps=[b.step("s1", minutes_per_piece=6.0)]))


def test_quote__stores_three_alternatives_from_the_engine(client):
    client.post("/scenario", json=b.example())
    quotes = _quote(client, "O1")
    assert sorted(q["kind"] for q in quotes) == ["balanced", "cheapest", "fastest"]
    for q in quotes:
        assert q["status"] == "offered"
        for step in ("s1", "s2", "s3"):
            lots = [a for a in q["plan"]["allocations"] if a["step"] == step]
            assert sum(a["quantity"] for a in lots) == 300
    listed = client.get("/orders/O1/quotes").json()
    assert [q["id"] for q in listed] == [q["id"] for q in quotes]
    assert client.get("/orders/O1").json()["status"] == "quoted"


def test_quote__snapshot_leaves_out_resources_down_or_offline(client, live):
    client.post("/scenario", json=b.example())
    seen = []

    def spy(scenario, order_id, *, options=None):
        seen.append(scenario)
        return matching_engine.quote(scenario, order_id, options=options)

    client.app.state.quote_runner.quote_fn = spy
    live.put(LiveState("F1-CNC1", "down", None, NOW))
    live.put(LiveState("F2-AN1", "running", 0.5, NOW))
    quotes = _quote(client, "O1")
    offered = {r.id for f in seen[0].factories for r in f.resources}
    assert offered == {"F1-L1", "F2-CNC1", "F2-AN1"}
    used = {a["resource"] for q in quotes for a in q["plan"]["allocations"]}
    assert "F1-CNC1" not in used


def test_quote__snapshot_starts_now_and_clips_windows(client):
    client.post("/scenario", json=b.example())
    seen = []
    def spy(scenario, order_id, *, options=None):
        seen.append(scenario)
        return []

    client.app.state.quote_runner.quote_fn = spy
    client.app.state.clock = lambda: NOW + timedelta(hours=10, seconds=42)
    assert client.post("/orders/O1/quotes", params=FAST).json() == []
    horizon = NOW + timedelta(hours=10)
    assert seen[0].horizon_start == horizon
    windows = [w for f in seen[0].factories for r in f.resources for w in r.windows]
    assert windows
    assert min(w.start for w in windows) == horizon


def test_accept__books_every_lot_and_supersedes_the_others(client):
    client.post("/scenario", json=b.example())
    quotes = _quote(client, "O1")
    chosen = next(q for q in quotes if q["kind"] == "cheapest")
    answer = client.post(f"/quotes/{chosen['id']}/accept")
    assert answer.status_code == 201, answer.text
    booked = answer.json()
    assert len(booked) == len(chosen["plan"]["allocations"])
    assert {(x["resource"], x["start"]) for x in booked} == \
        {(a["resource"], a["start"]) for a in chosen["plan"]["allocations"]}
    assert client.get("/orders/O1").json()["status"] == "accepted"
    assert [x["id"] for x in client.get("/bookings", params={"order": "O1"}).json()] == \
        sorted((x["id"] for x in booked), key=lambda i: next(
            (y["start"], y["id"]) for y in booked if y["id"] == i))
    other = next(q for q in quotes if q["id"] != chosen["id"])
    again = client.post(f"/quotes/{other['id']}/accept")
    assert again.status_code == 409
    assert "superseded" in again.json()["detail"]


def test_accept__double_booking_refused_with_409(client):
    _contended_market(client, capacity=1, orders=2)
    first, second = _quote(client, "O0")[0], _quote(client, "O1")[0]
    assert client.post(f"/quotes/{first['id']}/accept").status_code == 201
    before = row_counts(client)
    refused = client.post(f"/quotes/{second['id']}/accept")
    assert refused.status_code == 409
    assert "double booking" in refused.json()["detail"]
    assert row_counts(client) == before
    assert client.get("/orders/O1").json()["status"] == "quoted"


def test_accept__capacity_two_line_takes_two_lots_not_three(client):
    _contended_market(client, capacity=2, orders=3)
    offers = [_quote(client, f"O{k}")[0] for k in range(3)]
    answers = [client.post(f"/quotes/{q['id']}/accept") for q in offers]
    codes = [a.status_code for a in answers]
    assert codes == [201, 201, 409], [a.text for a in answers]


def test_accept__concurrent_acceptances_book_one(client):
    _contended_market(client, capacity=1, orders=2)
    offers = [_quote(client, "O0")[0], _quote(client, "O1")[0]]
    factory = client.app.state.session_factory

    def accept(quote_id: str) -> None:
        with session_scope(factory) as db:
            bookings.accept(db, quote_id=quote_id, now=NOW, ttl_s=3600)

    outcomes = race([lambda q=q: accept(q["id"]) for q in offers],
                    refusals=(ConflictError, IntegrityError))
    assert outcomes == ["ok", "refused"]
    assert row_counts(client)["bookings"] == 1


# SQLite takes the write lock at BEGIN, so only a server with row locks can interleave.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_accept__a_quote_read_before_another_accept_of_its_order_is_refused(client):
    """The view reads the quote and its order before accept locks them; meanwhile another
    process accepts a second quote of the same order. The lock must see that commit, not
    the rows already in the session (two quotes of one order were both booked, across
    three API processes on PostgreSQL)."""
    client.post("/factories", json=b.factory("F1", resources=[
        b.resource("R1", capacity=2, windows=[(8, 16)])]))
    client.post("/orders", json=b.order("O0", quantity=60, min_lot=60, due=b._t(14),
                                        steps=[b.step("s1", minutes_per_piece=6.0)]))
    first, second = _quote(client, "O0")[:2]
    factory = client.app.state.session_factory
    with session_scope(factory) as early:
        assert early.get(Quote, first["id"]).status == "offered"
        assert early.get(Order, "O0").status == "quoted"
        with session_scope(factory) as other:
            bookings.accept(other, quote_id=second["id"], now=NOW, ttl_s=3600)
        with pytest.raises(ConflictError, match=r"superseded|already accepted"):
            bookings.accept(early, quote_id=first["id"], now=NOW, ttl_s=3600)
    rows = client.get("/bookings", params={"order": "O0"})
    assert {bk["quote"] for bk in rows.json()} == {second["id"]}, rows.text


def test_accept__calendar_changed_since_the_quote_is_refused(client):
    _contended_market(client, capacity=1, orders=1)
    offer = _quote(client, "O0")[0]
    client.patch("/resources/R1", json={"windows": [{"start": b._t(30), "end": b._t(40)}]})
    refused = client.post(f"/quotes/{offer['id']}/accept")
    assert refused.status_code == 409
    assert "calendar changed" in refused.json()["detail"]


def test_accept__expired_quote_is_refused(client):
    _contended_market(client, capacity=1, orders=1)
    offer = _quote(client, "O0")[0]
    client.app.state.clock = lambda: NOW + timedelta(days=1)
    refused = client.post(f"/quotes/{offer['id']}/accept")
    assert refused.status_code == 409
    assert "expired" in refused.json()["detail"]


def test_accept__dispatcher_gets_the_committed_bookings(client):
    _contended_market(client, capacity=1, orders=1)
    offer = _quote(client, "O0")[0]
    sent = []

    class Recorder:
        def dispatch(self, rows):
            sent.extend(rows)
            raise RuntimeError("broker away")  # must not undo or fail the booking

    client.app.state.dispatcher = Recorder()
    answer = client.post(f"/quotes/{offer['id']}/accept")
    assert answer.status_code == 201
    assert [r.id for r in sent] == [x["id"] for x in answer.json()]
    work_order = work_order_fields(sent[0])
    assert (work_order["booking"], work_order["resource"], work_order["factory"]) == \
        (sent[0].id, "R1", "F1")
    assert client.get(f"/bookings/{sent[0].id}").json()["status"] == "booked"


def test_record_progress__moves_booking_and_order_to_done(client):
    _contended_market(client, capacity=1, orders=1)
    offer = _quote(client, "O0")[0]
    booked = client.post(f"/quotes/{offer['id']}/accept").json()
    factory = client.app.state.session_factory
    with session_scope(factory) as db:
        bookings.record_progress(db, booking_id=booked[0]["id"], done=20, scrap=1)
    assert client.get(f"/bookings/{booked[0]['id']}").json()["status"] == "running"
    assert client.get("/orders/O0").json()["status"] == "in_production"
    with session_scope(factory) as db:
        bookings.record_progress(db, booking_id=booked[0]["id"], done=58, scrap=2)
    body = client.get(f"/bookings/{booked[0]['id']}").json()
    assert (body["done"], body["scrap"], body["status"]) == (58, 2, "done")
    # Two pieces short: the order waits for them to be remade (services.flows.repair).
    assert client.get("/orders/O0").json()["status"] == "in_production"


def test_record_progress__unknown_booking_and_negative_counts_raise(client):
    factory = client.app.state.session_factory
    with pytest.raises(NotFoundError), session_scope(factory) as db:
        bookings.record_progress(db, booking_id="NOPE", done=1, scrap=0)
    with pytest.raises(InvalidError, match="scrap"), session_scope(factory) as db:
        bookings.record_progress(db, booking_id="NOPE", done=1, scrap=-1)


def test_overlap_guard__postgres_constraint_sqlite_transaction_check(client):
    """PostgreSQL refuses overlapping exclusive bookings itself; SQLite relies on the service."""
    _contended_market(client, capacity=1, orders=0)
    engine = client.app.state.engine
    insert = text(
        "INSERT INTO bookings (id, resource_id, quantity, start, \"end\", done, scrap, status, "
        "exclusive, source, created_at) VALUES (:id, 'R1', 1, :s, :e, 0, 0, 'booked', :x, "
        "'test', :s)")
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    s1, e1 = start, start + timedelta(hours=2)
    s2, e2 = start + timedelta(hours=1), start + timedelta(hours=3)
    if engine.dialect.name == "sqlite":
        s1, e1, s2, e2 = (t.replace(tzinfo=None) for t in (s1, e1, s2, e2))
    with engine.begin() as conn:
        conn.execute(insert, {"id": "X1", "s": s1, "e": e1, "x": True})
    if engine.dialect.name == "postgresql":
        with pytest.raises(IntegrityError, match="ex_bookings_no_overlap"), engine.begin() as c:
            c.execute(insert, {"id": "X2", "s": s2, "e": e2, "x": True})
        with engine.begin() as conn:  # a capacity>1 line's lot is not covered by the constraint
            conn.execute(insert, {"id": "X3", "s": s2, "e": e2, "x": False})
        assert row_counts(client)["bookings"] == 2
    else:
        with engine.begin() as conn:
            conn.execute(insert, {"id": "X2", "s": s2, "e": e2, "x": True})
        assert row_counts(client)["bookings"] == 2


def test_cancel_order__frees_the_time_for_the_next_order(client):
    _contended_market(client, capacity=1, orders=2)
    first, second = _quote(client, "O0")[0], _quote(client, "O1")[0]
    assert client.post(f"/quotes/{first['id']}/accept").status_code == 201
    assert client.post(f"/quotes/{second['id']}/accept").status_code == 409
    freed = client.post("/orders/O0/cancel")
    assert freed.status_code == 200
    assert [x["status"] for x in freed.json()] == ["cancelled"]
    assert client.get("/orders/O0").json()["status"] == "cancelled"
    assert client.post(f"/quotes/{second['id']}/accept").status_code == 201
    assert client.post("/orders/O0/cancel").status_code == 409


def test_metrics__bookings_and_conflicts_counted(client):
    _contended_market(client, capacity=1, orders=2)
    first, second = _quote(client, "O0")[0], _quote(client, "O1")[0]

    def value(name: str) -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(name)

    booked, refused = value("sharefab_bookings_total"), value("sharefab_booking_conflicts_total")
    client.post(f"/quotes/{first['id']}/accept")
    client.post(f"/quotes/{second['id']}/accept")
    assert value("sharefab_bookings_total") == booked + 1
    assert value("sharefab_booking_conflicts_total") == refused + 1
    assert value("sharefab_quote_solve_seconds_count") >= 2


def test_accept__lot_across_touching_windows_is_inside_the_calendar(client):
    # [8, 12) and [12, 15) are one free stretch of 7 h: the 6 h lot must run across 12:00
    client.post("/factories", json=b.factory("F1", resources=[
        b.resource("R1", windows=[(8, 12), (12, 15)])]))
    client.post("/orders", json=b.order("O0", quantity=60, min_lot=60, due=b._t(20),
                                        steps=[b.step("s1", minutes_per_piece=6.0)]))
    offer = _quote(client, "O0")[0]
    (lot,) = offer["plan"]["allocations"]
    assert lot["start"] < b._t(12) < lot["end"]
    assert client.post(f"/quotes/{offer['id']}/accept").status_code == 201


def test_quote__engine_refusing_its_input_is_422_and_stores_nothing(client):
    client.post("/scenario", json=b.example())

    def refuse(scenario, order_id, *, options=None):
        raise ValueError("step s2: no lot size fits min_lot")

    client.app.state.quote_runner.quote_fn = refuse
    before = row_counts(client)
    answer = client.post("/orders/O1/quotes", params=FAST)
    assert answer.status_code == 422
    assert "O1" in answer.json()["detail"]
    assert "min_lot" in answer.json()["detail"]
    assert row_counts(client) == before
