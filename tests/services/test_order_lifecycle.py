"""The order lifecycle: the state machine, its event history, quote expiry, old status names."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connectors.payloads import WorkOrderPayload
from services import bookings
from services.bookings.dispatch import work_order_fields
from services.core.db import session_scope
from services.orders import lifecycle
from services.orders import service as order_service
from services.orders.models import OrderState
from tests.services import builders as b
from tests.services.conftest import NOW

FAST = {"time_limit_s": 0.5}
S = OrderState


def _market(client: Any, orders: int = 1) -> None:
    client.post("/factories", json=b.factory("F1", resources=[
        b.resource("R1", capacity=1, windows=[(8, 16)])]))
    for k in range(orders):
        client.post("/orders", json=b.order(f"O{k}", quantity=60, min_lot=60, due=b._t(14),
                                            steps=[b.step("s1", minutes_per_piece=6.0)]))


def _quote(client: Any, order_id: str) -> list[dict[str, Any]]:
    answer = client.post(f"/orders/{order_id}/quotes", params=FAST)
    assert answer.status_code == 201, answer.text
    return list(answer.json())


def _types(client: Any, order_id: str) -> list[str]:
    answer = client.get(f"/orders/{order_id}/events")
    assert answer.status_code == 200, answer.text
    return [e["type"] for e in answer.json()]


class _Dispatcher:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def dispatch(self, rows: list[Any]) -> None:
        self.sent.extend(rows)


# ------------------------------------------------------------------ the state machine (pure)

def test_lifecycle__production_line_allowed_backwards_refused():

    for a, z in [(S.NEW, S.QUOTED), (S.QUOTED, S.ACCEPTED), (S.ACCEPTED, S.IN_PRODUCTION),
                 (S.IN_PRODUCTION, S.DONE), (S.QUOTED, S.EXPIRED), (S.EXPIRED, S.QUOTED),
                 (S.ACCEPTED, S.FAILED), (S.IN_PRODUCTION, S.CANCELLED)]:
        lifecycle.check("O", a, z)
    for a, z in [(S.DONE, S.QUOTED), (S.NEW, S.ACCEPTED), (S.CANCELLED, S.NEW),
                 (S.IN_PRODUCTION, S.QUOTED), (S.DONE, S.CANCELLED), (S.FAILED, S.DONE)]:
        with pytest.raises(lifecycle.IllegalTransitionError, match=f"from {a.value} to {z.value}"):
            lifecycle.check("O", a, z)


def test_lifecycle__progress_jump_passes_through_in_production():

    assert lifecycle.path_to(S.ACCEPTED, S.DONE) == [S.IN_PRODUCTION, S.DONE]
    assert lifecycle.path_to(S.IN_PRODUCTION, S.DONE) == [S.DONE]
    assert lifecycle.path_to(S.DONE, S.DONE) == []


def test_order_state__old_names_read_as_new_states():
    assert OrderState("booked") is OrderState.ACCEPTED
    assert OrderState("in_progress") is OrderState.IN_PRODUCTION
    assert OrderState.BOOKED is OrderState.ACCEPTED  # code written against the old names
    with pytest.raises(ValueError, match="'shipped'"):
        OrderState("shipped")


# ------------------------------------------------------------------ through the API

def test_events__history_tells_the_story_in_order(client):
    _market(client)
    dispatcher = _Dispatcher()
    client.app.state.dispatcher = dispatcher
    offer = _quote(client, "O0")[0]
    booked = client.post(f"/quotes/{offer['id']}/accept")
    assert booked.status_code == 201, booked.text
    booking = booked.json()[0]["id"]
    factory = client.app.state.session_factory
    with session_scope(factory) as db:
        bookings.record_progress(db, booking_id=booking, done=20, scrap=0, actor="gateway:F1",
                                 at=NOW + timedelta(hours=9))
    assert client.get("/orders/O0").json()["status"] == "in_production"
    with session_scope(factory) as db:
        bookings.record_progress(db, booking_id=booking, done=60, scrap=0, actor="gateway:F1",
                                 at=NOW + timedelta(hours=14))
    assert client.get("/orders/O0").json()["status"] == "done"
    events = client.get("/orders/O0/events").json()
    # The order's own moves (accepted, in_production, done) among its lot's events.
    assert [e["type"] for e in events] == [
        "quoted", "accepted", "work_order_sent", "started", "progress", "in_production",
        "completed", "done"]
    actors = [e["actor"] for e in events]
    assert actors[:3] == [actors[0]] * 3  # the API caller who asked and accepted
    assert actors[0] not in ("system", "gateway:F1")
    assert actors[3:] == ["gateway:F1"] * 5
    assert events[1]["details"]["quote"] == offer["id"]
    assert events[2]["details"]["booking"] == booking
    assert events[6]["details"]["done"] == 60
    assert events[7]["details"] == {"from": "in_production", "to": "done"}
    assert events[0]["time"] == "2026-12-01T00:00:00Z"
    assert events[7]["time"] == "2026-12-01T14:00:00Z"
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


def test_events__after_cursor_and_unknown_order(client):
    _market(client)
    _quote(client, "O0")
    first = client.get("/orders/O0/events").json()
    assert len(first) == 1
    assert client.get("/orders/O0/events", params={"after": first[0]["id"]}).json() == []
    missing = client.get("/orders/NOPE/events")
    assert missing.status_code == 404
    assert "NOPE" in missing.json()["detail"]


def test_events__cancel_is_recorded_and_illegal_moves_answer_409_naming_both(client):
    _market(client)
    offer = _quote(client, "O0")[0]
    assert client.post(f"/quotes/{offer['id']}/accept").status_code == 201
    assert client.post("/orders/O0/cancel").status_code == 200
    assert _types(client, "O0")[-1] == "cancelled"
    with session_scope(client.app.state.session_factory) as db:
        order_service.set_status(db, order_id="O0", status=OrderState.FAILED)
    refused = client.post("/orders/O0/cancel")
    assert refused.status_code == 409
    assert "order O0 cannot go from failed to cancelled" in refused.json()["detail"]


def test_orders__old_status_filter_values_still_accepted(client):
    _market(client, orders=2)
    offer = _quote(client, "O0")[0]
    assert client.post(f"/quotes/{offer['id']}/accept").status_code == 201
    for name in ("booked", "accepted"):
        listed = client.get("/orders", params={"status": name})
        assert listed.status_code == 200, listed.text
        assert [o["id"] for o in listed.json()] == ["O0"]
        assert listed.json()[0]["status"] == "accepted"
    assert client.get("/orders", params={"status": "in_progress"}).json() == []
    assert client.get("/orders", params={"status": "shipped"}).status_code == 422


def test_expiry__lapsed_offers_expire_the_order_which_may_be_quoted_again(client):
    _market(client)
    offers = _quote(client, "O0")
    ttl = client.app.state.settings.quote_ttl_s
    client.app.state.clock = lambda: NOW + timedelta(seconds=ttl - 1)
    assert client.get("/orders/O0").json()["status"] == "quoted"
    client.app.state.clock = lambda: NOW + timedelta(seconds=ttl + 1)
    assert client.get("/orders/O0").json()["status"] == "expired"
    assert {q["status"] for q in client.get("/orders/O0/quotes").json()} == {"expired"}
    expired = client.get("/orders/O0/events").json()[-1]
    assert expired["type"] == "expired"
    assert sorted(expired["details"]["quotes"]) == sorted(q["id"] for q in offers)
    refused = client.post(f"/quotes/{offers[0]['id']}/accept")
    assert refused.status_code == 409
    assert client.get("/orders", params={"status": "expired"}).json()[0]["id"] == "O0"
    _quote(client, "O0")  # asked again: offers at the new time
    assert client.get("/orders/O0").json()["status"] == "quoted"
    assert _types(client, "O0") == ["quoted", "expired", "quoted"]


def test_work_orders__carry_the_steps_material_process_and_times(client):
    # What a factory needs to make its step travels with the work order (as with its lot view),
    # and nothing of the order beyond that: no value, no other steps.
    _market(client)
    dispatcher = _Dispatcher()
    client.app.state.dispatcher = dispatcher
    order = client.get("/orders/O0").json()
    offer = _quote(client, "O0")[0]
    assert client.post(f"/quotes/{offer['id']}/accept").status_code == 201
    assert dispatcher.sent, "accepting sent no work order"
    step = order["steps"][0]
    for row in dispatcher.sent:
        payload = work_order_fields(row)
        assert (payload["material"], payload["process"]) == (order["material"], step["process"])
        assert (payload["minutes_per_piece"], payload["setup_min"]) == (
            step["minutes_per_piece"], step["setup_min"])
        assert not {"value", "steps"} & set(payload)  # and nothing of the order beyond that
        payload.pop("park")  # the topic's, not the payload's
        WorkOrderPayload.model_validate({**payload, "ts": row.start, "seq": 1}, strict=False)
