"""Dispatcher and simulated gateway logic, with a recording stand-in for the MQTT client."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from connectors.directory import StaticDirectory
from connectors.dispatch import Dispatcher
from connectors.gateway import Behaviour, SimulatedGateway
from connectors.mqtt import BrokerAddress
from connectors.payloads import (
    GatewayStatusPayload,
    ProgressPayload,
    StatePayload,
    WorkOrderPayload,
)

START = datetime(2026, 12, 1, 8, tzinfo=UTC)


class RecordingPublisher:
    def __init__(self):
        self.sent = []

    def publish(self, topic, payload, *, qos=0, retain=False):
        self.sent.append((topic, payload, qos, retain))
        return SimpleNamespace(rc=0)


def booking(**over):
    row = {"booking": "B1", "order": "O1", "step": "s1", "factory": "F1", "resource": "R1",
           "quantity": 50, "start": START, "end": START + timedelta(hours=2),
           "pricing": "time_share", "cost": 240.0}
    row.update(over)
    return row


def test_dispatch__work_order_on_resource_topic_at_qos1():
    pub = RecordingPublisher()
    dispatcher = Dispatcher(pub, StaticDirectory([("P1", "F1", "R1")]))
    assert dispatcher.dispatch([booking()]) == ["sharefab/v1/P1/F1/R1/work-orders"]
    _topic, payload, qos, retain = pub.sent[0]
    order = WorkOrderPayload.model_validate_json(payload)
    assert (qos, retain) == (1, False)
    assert (order.booking, order.quantity, order.start, order.cost) == ("B1", 50, START, 240.0)


def test_dispatch__seq_increases_per_work_order():
    pub = RecordingPublisher()
    dispatcher = Dispatcher(pub, StaticDirectory([("P1", "F1", "R1")]))
    dispatcher.dispatch([booking(booking="B1"), booking(booking="B2")])
    seqs = [WorkOrderPayload.model_validate_json(p).seq for _, p, _, _ in pub.sent]
    assert seqs[1] == seqs[0] + 1


def test_dispatch__unknown_resource_skipped_not_raised():
    pub = RecordingPublisher()
    dispatcher = Dispatcher(pub, StaticDirectory([("P1", "F1", "R1")]))
    topics = dispatcher.dispatch([booking(resource="R9"), booking(quantity=-1), booking()])
    assert topics == ["sharefab/v1/P1/F1/R1/work-orders"]


@pytest.fixture
def gateway():
    gw = SimulatedGateway(BrokerAddress("127.0.0.1", 1), "P1", "F1", ["R1", "R2"], seed=3,
                          behaviour=Behaviour(breakdown_p=0.0, ticks_per_lot=4),
                          clock=lambda: START)
    gw.client = RecordingPublisher()  # type: ignore[assignment]
    return gw


def _sent(gw, kind):
    return [(t, p) for t, p, _, _ in gw.client.sent if t.endswith("/" + kind)]


def test_gateway__tick_publishes_retained_state_per_resource(gateway):
    gateway.tick()
    states = [(t, q, r) for t, _, q, r in gateway.client.sent if t.endswith("/state")]
    assert states == [("sharefab/v1/P1/F1/R1/state", 0, True),
                      ("sharefab/v1/P1/F1/R2/state", 0, True)]


def test_gateway__work_order_progresses_to_quantity(gateway):
    wo = WorkOrderPayload(ts=START, seq=1, booking="B1", step="s1", factory="F1",
                          resource="R1", quantity=40, start=START, end=START, pricing=None)
    gateway._inbox.append(wo)
    for _ in range(10):
        gateway.tick()
    progress = [ProgressPayload.model_validate_json(p) for _, p in _sent(gateway, "progress")]
    assert progress[-1].done + progress[-1].scrap == 40
    assert [p.done + p.scrap for p in progress] == sorted(p.done + p.scrap for p in progress)
    assert len({p.seq for p in progress}) == len(progress)
    assert not gateway.jobs


def test_gateway__busy_machine_reports_running(gateway):
    gateway._inbox.append(WorkOrderPayload(ts=START, seq=1, booking="B1", factory="F1",
                                           resource="R2", quantity=1000, start=START,
                                           end=START))
    gateway.tick()
    last = {t: StatePayload.model_validate_json(p) for t, p in _sent(gateway, "state")}
    assert last["sharefab/v1/P1/F1/R2/state"].status == "running"


def test_gateway__windows_are_day_shifts_in_china_time(gateway):
    windows = gateway.windows(START)  # 08:00 UTC = 16:00 in Ningbo: the shift is under way
    assert windows
    for w in windows:
        assert w.end > w.start
        assert (w.end + timedelta(hours=8)).hour == 20  # shifts end 20:00 UTC+8
        assert w.start >= START


def test_gateway__will_beats_its_online_and_next_online_beats_the_will(gateway):
    wills = []
    gateway.client.will_set = lambda topic, payload, qos, retain: wills.append(
        GatewayStatusPayload.model_validate_json(payload).seq)
    gateway._reserve_status_seqs()  # before the first connection
    online_1, will_1 = gateway._online_seq, wills[-1]
    gateway._reserve_status_seqs()  # connection lost: the next one gets a fresh Will
    online_2, will_2 = gateway._online_seq, wills[-1]
    assert online_1 < will_1 < online_2 < will_2
