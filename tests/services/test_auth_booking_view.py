"""What a factory sees of an order it works on (issue 10): what it needs to make its step (the
routing step, its process and times, the material, quantity, its own lot's times and price) and
nothing else: not the customer's value, the other steps, other factories or their prices."""

from __future__ import annotations

from tests.services import builders as b
from tests.services.auth_helpers import bearer, grant

# Every field of a factory's lot; a field added to BookingRead must be decided on here.
LOT_FIELDS = {"id", "park", "factory", "resource", "order", "step", "quote", "quantity",
              "start", "end", "pricing", "cost", "done", "scrap", "status",
              "work_order_status", "input_ready", "input_at", "material", "process",
              "minutes_per_piece", "setup_min"}


def _booked_two_step_order(client):
    sme = bearer(grant(client.app, org_id="sme-a", kind="sme"))
    fac_a = bearer(grant(client.app, org_id="fac-a", kind="factory"))
    fac_b = bearer(grant(client.app, org_id="fac-b", kind="factory"))
    client.post("/factories", json={**b.factory("FA", park="P9"), "org": "fac-a"})
    client.post("/factories", json={**b.factory("FB", park="P9"), "org": "fac-b"})
    client.patch("/resources/FB-R1", json={"process": "surface.anodizing"})
    order = client.post("/orders", headers=sme, json=b.order("OA", material="al6061", steps=[
        {**b.step("cut", minutes_per_piece=1.5), "setup_min": 12},
        b.step("coat", process="surface.anodizing", minutes_per_piece=0.5, after=["cut"])],
        value=123456.0)).json()
    quotes = client.post(f"/orders/{order['id']}/quotes", headers=sme,
                         params={"time_limit_s": 1}).json()
    quote = next(q for q in quotes if q["plan"]["status"] == "planned")
    assert client.post(f"/quotes/{quote['id']}/accept", headers=sme).status_code == 201
    return order, fac_a, fac_b


def test_factory_lot__carries_what_the_step_needs(client):
    order, fac_a, fac_b = _booked_two_step_order(client)
    (lot,) = client.get("/bookings", headers=fac_a).json()
    assert (lot["order"], lot["step"], lot["quantity"]) == (order["id"], "cut", 10)
    assert (lot["material"], lot["process"]) == ("al6061", "machining.cnc_milling")
    assert (lot["minutes_per_piece"], lot["setup_min"]) == (1.5, 12)
    assert lot["start"] < lot["end"]
    (other,) = client.get("/bookings", headers=fac_b).json()
    assert (other["step"], other["process"], other["minutes_per_piece"]) == (
        "coat", "surface.anodizing", 0.5)
    assert client.get(f"/bookings/{lot['id']}", headers=fac_a).json() == lot


def test_factory_lot__shows_nothing_else_of_the_order(client):
    order, fac_a, _ = _booked_two_step_order(client)
    lots = client.get("/bookings", headers=fac_a).json()
    assert len(lots) == 1  # not the other factory's lot
    (lot,) = lots
    assert set(lot) == LOT_FIELDS
    text = client.get(f"/bookings/{lot['id']}", headers=fac_a).text
    for secret in ("123456", "coat", "surface.anodizing", "FB", "fac-b", order["customer"]):
        assert secret not in text, secret
    # Filtering by the order does not widen the view.
    assert client.get("/bookings", headers=fac_a, params={"order": order["id"]}).json() == lots
    assert client.get(f"/orders/{order['id']}", headers=fac_a).status_code == 403
    assert client.get(f"/orders/{order['id']}/quotes", headers=fac_a).status_code == 403
