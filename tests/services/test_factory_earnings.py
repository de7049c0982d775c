"""GET /factories/{id}/earnings and /utilization: the factory's own lots at the prices they carry.

A quote accepted on one factory's resource, part of the lot reported done: the earnings are
the lot's price x done / quantity, the utilization the lot's hours over the window's; another
factory organisation gets 404, an SME 403.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.factories.earnings import Lot, by_day
from tests.services import builders as b
from tests.services.auth_helpers import bearer, grant


def _lot(**over: object) -> Lot:
    fields: dict[str, object] = {
        "booking": "B1", "order": "O1", "step": "s1", "resource": "R1",
        "start": datetime(2026, 12, 1, 8, tzinfo=UTC), "end": datetime(2026, 12, 1, 10, tzinfo=UTC),
        "quantity": 10, "done": 4, "scrap": 1, "status": "running", "pricing": "per_piece",
        "cost_cny": 250.0}
    fields.update(over)
    return Lot(**fields)  # type: ignore[arg-type]


def test_lot__earns_its_good_pieces_share_of_the_price():
    assert _lot().earned_cny() == pytest.approx(100.0)
    assert _lot(done=12).earned_cny() == pytest.approx(250.0)  # never more than the price


def test_lot__cancelled_is_neither_booked_nor_earned():
    lot = _lot(status="cancelled")
    assert (lot.booked_cny(), lot.earned_cny()) == (0.0, 0.0)


def test_by_day__groups_by_the_utc_date_of_the_booked_end():
    late = _lot(booking="B2", end=datetime(2026, 12, 2, 1, tzinfo=UTC), done=10)
    days = by_day([_lot(), late])
    assert [(d.day.isoformat(), d.lots, d.earned_cny) for d in days] == [
        ("2026-12-01", 1, 100.0), ("2026-12-02", 1, 250.0)]


def _booked_lot(client) -> tuple[dict, str]:
    app = client.app
    for side in ("a", "b"):
        grant(app, org_id=f"fac-{side}", kind="factory")
        made = client.post("/factories", json={**b.factory(f"F{side.upper()}", resources=[
            b.resource(f"F{side.upper()}-R1", windows=[(8, 20)])]), "org": f"fac-{side}"})
        assert made.status_code == 201, made.text
    sme = grant(app, org_id="sme-a", kind="sme")
    made = client.post("/orders", headers=bearer(sme), json=b.order("OE", quantity=30, min_lot=30))
    assert made.status_code == 201, made.text
    order = made.json()["id"]  # in the SME's namespace: sme-a.OE
    quotes = client.post(f"/orders/{order}/quotes", headers=bearer(sme),
                         params={"time_limit_s": 1}).json()
    assert isinstance(quotes, list), quotes
    quote = next(q for q in quotes if q["plan"]["status"] == "planned")
    lots = client.post(f"/quotes/{quote['id']}/accept", headers=bearer(sme)).json()
    assert len(lots) == 1
    return lots[0], sme


def test_earnings__the_factory_sees_its_lot_at_its_price(client):
    lot, sme = _booked_lot(client)
    owner = "fac-a" if lot["factory"] == "FA" else "fac-b"
    other = "fac-b" if owner == "fac-a" else "fac-a"
    mine = bearer(grant(client.app, org_id=owner, kind="factory"))
    progress = client.post(f"/bookings/{lot['id']}/progress", headers=mine,
                           json={"done": 12, "scrap": 2})
    assert progress.status_code == 200, progress.text

    answer = client.get(f"/factories/{lot['factory']}/earnings", headers=mine)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [x["booking"] for x in body["lots"]] == [lot["id"]]
    assert body["booked_cny"] == pytest.approx(lot["cost"], abs=0.01)
    assert body["earned_cny"] == pytest.approx(lot["cost"] * 12 / 30, abs=0.01)
    assert sum(d["earned_cny"] for d in body["days"]) == pytest.approx(body["earned_cny"])

    theirs = bearer(grant(client.app, org_id=other, kind="factory"))
    assert client.get(f"/factories/{lot['factory']}/earnings", headers=theirs).status_code == 404
    assert client.get(f"/factories/{lot['factory']}/earnings",
                      headers=bearer(sme)).status_code == 403


def test_utilization__booked_hours_over_published_hours(client):
    lot, _ = _booked_lot(client)
    owner = "fac-a" if lot["factory"] == "FA" else "fac-b"
    mine = bearer(grant(client.app, org_id=owner, kind="factory"))
    body = client.get(f"/factories/{lot['factory']}/utilization", headers=mine).json()
    lot_h = (datetime.fromisoformat(lot["end"]) - datetime.fromisoformat(lot["start"])
             ).total_seconds() / 3600
    row = next(r for r in body["resources"] if r["resource"] == lot["resource"])
    assert row["available_h"] == pytest.approx(12.0)  # the window 08:00-20:00 of 1 December
    assert row["booked_h"] == pytest.approx(lot_h, abs=0.01)
    assert row["utilization"] == pytest.approx(lot_h / 12.0, abs=1e-3)
    assert body["definition"]
    assert sum(d["booked_h"] for d in body["days"]) == pytest.approx(body["booked_h"], abs=0.02)
    assert [d["day"] for d in body["days"]][:1] == ["2026-12-01"]  # from the clock's midnight


def test_earnings__a_period_that_ends_before_it_starts_is_a_422(client):
    client.post("/factories", json=b.factory("FA"))
    answer = client.get("/factories/FA/earnings", params={
        "since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"})
    assert answer.status_code == 422
    assert "until" in answer.text


def test_utilization__a_timestamp_without_a_timezone_is_a_422(client):
    client.post("/factories", json=b.factory("FA"))
    answer = client.get("/factories/FA/utilization", params={"since": "2026-12-01T00:00:00"})
    assert answer.status_code == 422
    assert "timezone" in answer.text
    late = client.get("/factories/FA/utilization", params={"since": "9999-12-31T00:00:00Z"})
    assert late.status_code == 422
