"""A lot overrunning its booking triggers repair (issue 11).

Noticed two ways: the ingest sees a progress report whose pace cannot finish the lot in its
booking (the lot keeps its machine to its booked end, cut to what it makes by then; the rest
is re-planned), and the housekeeping sweep finds a lot still not finished past its booked end
(released: what it made counts, the rest is re-planned). The customer's events say the new
finish and why; when nothing can take the rest, the plan stays and ``delayed`` says by how
much the due date is missed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.core.settings import Settings
from services.workers.housekeeping import Housekeeper
from services.workers.ingest import DbEffects
from tests.services import builders as b

FAST = {"time_limit_s": 1.0}


def _market(client: Any, *, spare: bool = True, window: tuple[float, float] = (8, 20),
            due_h: float = 72) -> dict[str, Any]:
    """R1 (cheap) takes the 60-piece, 1 h lot at 08:00; R2 (dearer, F2) is the way out."""
    client.post("/factories", json=b.factory("F1", resources=[b.resource("R1",
                                                                         windows=[window])]))
    if spare:
        dear = b.resource("R2", windows=[(8, 20)])
        dear["pricing"]["time_share_per_hour"] = 300.0
        client.post("/factories", json=b.factory("F2", resources=[dear]))
    client.post("/orders", json=b.order("O1", quantity=60, min_lot=60, due=b._t(due_h),
                                        steps=[b.step("s1", minutes_per_piece=1.0)]))
    quotes = client.post("/orders/O1/quotes", params=FAST).json()
    cheapest = next(q for q in quotes if q["kind"] == "cheapest")
    answer = client.post(f"/quotes/{cheapest['id']}/accept")
    assert answer.status_code == 201, answer.text
    [lot] = answer.json()
    assert (lot["resource"], lot["start"], lot["end"]) == ("R1", b._t(8), b._t(9))
    return dict(lot)


def _at(hours: float) -> datetime:
    return b.START + timedelta(hours=hours)


def _events(client: Any, kind: str) -> list[dict[str, Any]]:
    rows = client.get("/orders/O1/events").json()
    return [e["details"] for e in rows if e["type"] == kind]


def _open(client: Any) -> list[dict[str, Any]]:
    return [r for r in client.get("/bookings", params={"order": "O1"}).json()
            if r["status"] != "cancelled"]


def test_overrun__slow_progress_cuts_the_lot_and_re_plans_the_rest(client):
    lot = _market(client)
    effects = DbEffects(client.app.state.session_factory, clock=lambda: _at(8.5))
    effects.record_progress(lot["id"], 10, 0)  # a third of the booked pace: done at 11:00
    rows = {r["id"]: r for r in _open(client)}
    assert rows[lot["id"]]["quantity"] == 20  # 10 more by 09:00 at this pace
    rest = [r for r in rows.values() if r["id"] != lot["id"]]
    assert sum(r["quantity"] for r in rest) == 40
    [repaired] = _events(client, "repaired")
    assert "overrun of lot" in repaired["cause"]
    assert "2026-12-01T11:00:00Z" in repaired["cause"]  # the projected finish, and why
    assert repaired["cut"] == [{"booking": lot["id"], "quantity": 20}]
    assert repaired["finish"] == max(r["end"] for r in rows.values())
    # The lot now finishes in its booking: the next report is no new overrun.
    effects.clock = lambda: _at(8.75)
    effects.record_progress(lot["id"], 15, 0)
    assert len(_events(client, "repaired")) == 1


def test_overrun__nothing_can_take_the_rest_the_plan_stays_and_delayed_says_how_late(client):
    lot = _market(client, spare=False, window=(8, 9), due_h=10)
    effects = DbEffects(client.app.state.session_factory, clock=lambda: _at(8.5))
    effects.record_progress(lot["id"], 10, 0)
    [row] = _open(client)
    assert (row["id"], row["quantity"]) == (lot["id"], 60)  # nothing cut, nothing lost
    [delayed] = _events(client, "delayed")
    assert delayed["planned"] is False
    assert delayed["finish"] == b._t(11)
    assert delayed["late_by_min"] == 60  # due 10:00
    assert "overrun of lot" in delayed["cause"]
    effects.clock = lambda: _at(8.6)  # the same news again is not a second event
    effects.record_progress(lot["id"], 12, 0)
    assert len(_events(client, "delayed")) == 1


def test_overrun__housekeeping_releases_a_lot_still_running_past_its_end(client):
    lot = _market(client)
    effects = DbEffects(client.app.state.session_factory, clock=lambda: _at(8.5))
    effects.record_progress(lot["id"], 30, 0)  # on pace at 08:30; then the machine stalls
    settings = Settings(database_url="sqlite://", environment="test")
    sent: list[Any] = []
    keeper = Housekeeper(client.app.state.session_factory, settings, lambda: _at(8.52),
                         dispatch=sent.extend)
    assert keeper.repair_overruns() == 0  # its pace so far still ends it by 09:10
    keeper = Housekeeper(client.app.state.session_factory, settings, lambda: _at(9.25),
                         dispatch=sent.extend)
    assert keeper.repair_overruns() == 1
    old = client.get(f"/bookings/{lot['id']}").json()
    assert (old["status"], old["done"]) == ("cancelled", 30)
    [new] = _open(client)
    assert new["quantity"] == 30
    assert new["start"] >= b._t(9.25)
    [repaired] = _events(client, "repaired")
    assert "still not finished 15 min after its booked end" in repaired["cause"]
    assert {r.id for r in sent} == {lot["id"], new["id"]}  # withdrawn, and the new one


def test_overrun__pieces_of_a_released_lot_still_count_in_a_later_repair(client):
    """30 made before the lot was released; its replacement is cut later: the remake is what
    is missing of 60, not of 60 minus the replacement alone (that made 90)."""
    lot = _market(client)
    effects = DbEffects(client.app.state.session_factory, clock=lambda: _at(8.5))
    effects.record_progress(lot["id"], 30, 0)
    settings = Settings(database_url="sqlite://", environment="test")
    Housekeeper(client.app.state.session_factory, settings, lambda: _at(9.25),
                dispatch=list).repair_overruns()
    [new] = _open(client)
    start = datetime.fromisoformat(new["start"].replace("Z", "+00:00"))
    effects.clock = lambda: start + timedelta(minutes=10)
    effects.record_progress(new["id"], 2, 0)  # a fifth of its booked pace
    rows = _open(client)
    assert len(rows) == 2
    assert {r["id"]: r["quantity"] for r in rows}[new["id"]] < 30  # cut
    assert 30 + sum(r["quantity"] for r in rows) == 60


def test_overrun__the_ingest_workers_sweep_repairs_and_sends_the_work_orders(client):
    lot = _market(client)
    sent: list[Any] = []
    effects = DbEffects(client.app.state.session_factory, clock=lambda: _at(8.5),
                        dispatch=sent.extend)
    effects.record_progress(lot["id"], 30, 0)
    effects.clock = lambda: _at(9.25)
    effects.sweep_overrun()
    assert client.get(f"/bookings/{lot['id']}").json()["status"] == "cancelled"
    [new] = _open(client)
    assert {r.id for r in sent} == {lot["id"], new["id"]}


def test_overrun__grace_is_the_setting(client):
    """SHAREFAB_OVERRUN_GRACE_S: 15 min past its booked end a stalled lot overruns the
    default 10 min grace; with a 2 h grace its pace so far still ends it in time."""
    lot = _market(client)
    effects = DbEffects(client.app.state.session_factory, clock=lambda: _at(8.5))
    effects.record_progress(lot["id"], 30, 0)  # on pace at 08:30; then the machine stalls
    sf = client.app.state.session_factory
    long = Settings(database_url="sqlite://", environment="test", overrun_grace_s=7200)
    assert Housekeeper(sf, long, lambda: _at(9.25), dispatch=list).repair_overruns() == 0
    assert _events(client, "repaired") == []
    default = Settings(database_url="sqlite://", environment="test")
    assert Housekeeper(sf, default, lambda: _at(9.25), dispatch=list).repair_overruns() == 1
    [repaired] = _events(client, "repaired")
    assert "still not finished 15 min after its booked end" in repaired["cause"]
