"""Two-sided ratings after completion, and the credit score that replaces the self-declared
rating in the matcher (through the real quote path)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain import model as m
from services import bookings
from services.bookings.service import add_existing
from services.core.db import session_scope
from tests.services import builders as b
from tests.services.conftest import NOW, row_counts

FAST = {"time_limit_s": 0.5}


def _done_order(client: Any) -> str:
    """O0 on F1, quoted, accepted and reported finished; answers its booking id."""
    client.post("/factories", json=b.factory("F1", resources=[b.resource("R1")]))
    client.post("/factories", json=b.factory("F9", resources=[b.resource("R9")]))
    client.post("/orders", json=b.order("O0", quantity=60, min_lot=60))
    offer = next(q for q in client.post("/orders/O0/quotes", params=FAST).json()
                 if q["kind"] == "cheapest")
    [booking] = client.post(f"/quotes/{offer['id']}/accept").json()
    assert booking["factory"] == "F1", booking
    return str(booking["id"])


def _rate_f1(**over: Any) -> dict[str, Any]:
    return {"side": "customer", "factory": "F1", "quality": 5, "on_time": 5,
            "communication": 4, **over}


def test_ratings__only_after_done_once_per_pair_by_both_sides(client):
    booking = _done_order(client)
    early = client.post("/orders/O0/ratings", json=_rate_f1())
    assert early.status_code == 409
    assert "accepted" in early.json()["detail"]
    with session_scope(client.app.state.session_factory) as db:
        bookings.record_progress(db, booking_id=booking, done=60, scrap=0,
                                 at=NOW + timedelta(hours=9))
    assert client.get("/orders/O0").json()["status"] == "done"

    rated = client.post("/orders/O0/ratings", json=_rate_f1(comment="good parts"))
    assert rated.status_code == 201, rated.text
    assert rated.json()["scores"] == {"quality": 5, "on_time": 5, "communication": 4}
    again = client.post("/orders/O0/ratings", json=_rate_f1(quality=1))
    assert again.status_code == 409
    assert "already" in again.json()["detail"]
    before = row_counts(client)
    stranger = client.post("/orders/O0/ratings", json=_rate_f1(factory="F9"))
    assert stranger.status_code == 422
    assert "F9" in stranger.json()["detail"]
    assert client.post("/orders/O0/ratings", json=_rate_f1(quality=6)).status_code == 422
    assert client.post("/orders/O0/ratings", json={"side": "factory", "factory": "F1",
                                                   "quality": 5}).status_code == 422
    assert row_counts(client) == before

    back = client.post("/orders/O0/ratings", json={"side": "factory", "factory": "F1",
                                                   "clear_spec": 4, "payment": 5})
    assert back.status_code == 201, back.text
    assert back.json()["customer"] == "C1"
    assert client.post("/orders/O0/ratings", json={"side": "factory", "factory": "F1",
                                                   "clear_spec": 1, "payment": 1}
                       ).status_code == 409
    assert [r["side"] for r in client.get("/orders/O0/ratings").json()] == \
        ["customer", "factory"]
    events = client.get("/orders/O0/events").json()
    assert [e["type"] for e in events][-2:] == ["rated", "rated"]
    assert events[-2]["details"]["factory"] == "F1"

    credit = client.get("/factories/F1/credit").json()
    assert credit["evidence"]["reviews"] == 1  # the factory's rating of the customer is not
    assert credit["evidence"]["lots"] == 1
    assert credit["evidence"]["on_time_lots"] == 1
    # One review of mean 4.67 next to a prior of 4.0 worth five reviews: 4.11, not 4.67.
    assert credit["rating"] == 4.111
    assert credit["self_declared_rating"] == 4.0
    assert client.get("/factories/NOPE/credit").status_code == 404


def _twin_market(client: Any) -> None:
    """FB is 2% cheaper than FA; both run the whole order alone in the same hours."""
    client.post("/factories", json=b.factory("FB", rating=5.0, resources=[
        b.resource("FB-R1", pricing={"time_share_per_hour": 100.0, "per_piece": None,
                                     "by_value_pct": None})]))
    client.post("/factories", json=b.factory("FA", rating=1.0, resources=[
        b.resource("FA-R1", pricing={"time_share_per_hour": 102.0, "per_piece": None,
                                     "by_value_pct": None})]))


def _past_lots(client: Any, resource: str, late_h: float, n: int = 6) -> None:
    """``n`` lots the platform saw finish ``late_h`` hours after their booked end."""
    factory = client.app.state.session_factory
    for k in range(n):
        end = NOW - timedelta(days=k + 1)
        with session_scope(factory) as db:
            add_existing(db, booking=m.Booking(id=f"H-{resource}-{k}", resource=resource,
                                               start=end - timedelta(hours=2), end=end,
                                               quantity=50), source="test")
        with session_scope(factory) as db:
            bookings.record_progress(db, booking_id=f"H-{resource}-{k}", done=50, scrap=0,
                                     at=end + timedelta(hours=late_h))


def _cheapest_factories(client: Any, order_id: str, **order: Any) -> set[str]:
    client.post("/orders", json=b.order(order_id, quantity=60, max_factories=1, **order))
    quotes = client.post(f"/orders/{order_id}/quotes", params=FAST)
    assert quotes.status_code == 201, quotes.text
    cheapest = next(q for q in quotes.json() if q["kind"] == "cheapest")
    return {a["factory"] for a in cheapest["plan"]["allocations"]}


def test_credit__late_factory_loses_a_close_quote_to_a_punctual_one(client):
    _twin_market(client)
    # No record yet: the cheaper factory wins, whatever the ratings they typed in.
    assert _cheapest_factories(client, "O1") == {"FB"}
    _past_lots(client, "FB-R1", late_h=3)
    _past_lots(client, "FA-R1", late_h=0)
    late, punctual = (client.get(f"/factories/{f}/credit").json() for f in ("FB", "FA"))
    assert late["evidence"]["lots"] == 6
    assert late["evidence"]["on_time_lots"] == 0
    assert late["evidence"]["late_min_total"] == 6 * 180
    assert punctual["evidence"]["on_time_lots"] == 6
    assert late["score"] < punctual["score"]
    assert _cheapest_factories(client, "O2") == {"FA"}
    quote = next(q for q in client.get("/orders/O2/quotes").json() if q["kind"] == "cheapest")
    assert quote["total_cost"] == 102.0  # the real price: the risk only steered the choice


def test_credit__min_credit_in_the_order_excludes_a_poor_record(client):
    _twin_market(client)
    _past_lots(client, "FB-R1", late_h=3)
    _past_lots(client, "FA-R1", late_h=0)
    fb, fa = (client.get(f"/factories/{f}/credit").json()["score"] for f in ("FB", "FA"))
    between = round((fa + fb) / 2, 3)
    client.post("/orders", json=b.order("O3", quantity=60, max_factories=1,
                                        min_credit=between))
    assert client.get("/orders/O3").json()["min_credit"] == between
    quotes = client.post("/orders/O3/quotes", params=FAST).json()
    assert {a["factory"] for q in quotes for a in q["plan"]["allocations"]} == {"FA"}
    bad = client.post("/orders", json=b.order("O4", min_credit=1.5))
    assert bad.status_code == 422
