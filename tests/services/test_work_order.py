"""The work order is defined once (``WorkOrderPayload``); a booking maps onto all of it."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.dispatch import WORK_ORDER_FIELDS, Dispatcher
from connectors.payloads import Envelope, WorkOrderPayload
from services.bookings.dispatch import NullDispatcher, RecordingDispatcher, work_order_fields
from services.bookings.models import BookingRead, BookingState

BOOKING = BookingRead(id="B1", park="P1", factory="F1", resource="R1", order="O1", step="s1",
                      quote="Q1", quantity=20, start=datetime(2026, 12, 1, 8, tzinfo=UTC),
                      end=datetime(2026, 12, 1, 10, tzinfo=UTC), pricing="time_share",
                      cost=200.0, done=0, scrap=0, status=BookingState.BOOKED)


class _Published:
    rc = 0


class _Publisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> _Published:
        self.sent.append((topic, payload))
        return _Published()


class _NoDirectory:
    def locate(self, resource: str) -> None:
        raise AssertionError("the booking carries its park: no directory lookup")


def test_work_order_fields__are_the_payload_fields_beyond_the_envelope():
    assert set(WORK_ORDER_FIELDS) == set(WorkOrderPayload.model_fields) - set(
        Envelope.model_fields)


def test_work_order_fields__a_booking_fills_every_field_and_validates():
    fields = work_order_fields(BOOKING)
    assert fields.pop("park") == "P1"
    assert set(fields) == set(WORK_ORDER_FIELDS)
    payload = WorkOrderPayload.model_validate({**fields, "ts": BOOKING.start, "seq": 1},
                                              strict=False)
    assert (payload.booking, payload.order, payload.step, payload.quantity, payload.cost) == \
        ("B1", "O1", "s1", 20, 200.0)


def test_mqtt_dispatcher__sends_a_booking_to_its_resource_topic():
    publisher = _Publisher()
    dispatcher = Dispatcher(publisher, _NoDirectory(), work_order_fields)  # type: ignore[arg-type]
    assert dispatcher.dispatch([BOOKING]) == ["sharefab/v1/P1/F1/R1/work-orders"]
    sent = WorkOrderPayload.model_validate_json(publisher.sent[0][1])
    assert sent.booking == "B1"


def test_null_and_recording_dispatchers():
    assert NullDispatcher().dispatch([BOOKING]) == []
    recorder = RecordingDispatcher()
    assert recorder.dispatch([BOOKING]) == ["B1"]
    assert recorder.sent == [BOOKING]
