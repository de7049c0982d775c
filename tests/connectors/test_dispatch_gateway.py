"""Dispatcher and simulated gateway logic, with a recording stand-in for the MQTT client."""

import itertools
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


def _ticking():
    """A clock that moves 30 s each time it is read: lots make progress tick by tick."""
    calls = itertools.count()
    return lambda: START + timedelta(seconds=30 * next(calls))


@pytest.fixture
def gateway():
    gw = SimulatedGateway(BrokerAddress("127.0.0.1", 1), "P1", "F1", ["R1", "R2"], seed=3,
                          behaviour=Behaviour(breakdown_p=0.0, time_scale=600.0),
                          clock=_ticking())
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


def _wo(booking: str = "B1", *, resource: str = "R1", quantity: int = 40,
        start_min: int = 0, minutes: int = 20, **extra) -> WorkOrderPayload:
    return WorkOrderPayload(ts=START, seq=1, booking=booking, factory="F1", resource=resource,
                            quantity=quantity, start=START + timedelta(minutes=start_min),
                            end=START + timedelta(minutes=start_min + minutes), **extra)


def _progress(gw, booking: str) -> list[ProgressPayload]:
    out = [ProgressPayload.model_validate_json(p) for _, p in _sent(gw, "progress")]
    return [p for p in out if p.booking == booking]


def _plan_gateway(**behaviour) -> SimulatedGateway:
    """One read of the clock per tick: 60 ticks = 30 minutes."""
    now = [START]
    gw = SimulatedGateway(BrokerAddress("127.0.0.1", 1), "P1", "F1", ["R1", "R2"], seed=3,
                          behaviour=Behaviour(breakdown_p=0.0, start_p=0.0, **behaviour),
                          clock=lambda: now[0])
    gw.client = RecordingPublisher()  # type: ignore[assignment]
    orig = gw.tick

    def tick() -> None:
        orig()
        now[0] += timedelta(seconds=30)

    gw.tick = tick  # type: ignore[method-assign]
    gw.now = now  # type: ignore[attr-defined]
    return gw


def test_gateway__lot_waits_for_its_booked_start_and_takes_about_its_booked_time():
    gw = _plan_gateway()
    gw._inbox.append(_wo(start_min=10, minutes=20))
    for _ in range(20):  # 10 minutes: before the booked start
        gw.tick()
    assert _progress(gw, "B1") == []
    for _ in range(60):
        gw.tick()
    progress = _progress(gw, "B1")
    assert progress[-1].done + progress[-1].scrap == 40
    finished = progress[-1].ts - START
    # booked 10..30 min; pace 0.9..1.15 of the booked 20 min (plus one tick)
    assert timedelta(minutes=10 + 18) <= finished <= timedelta(minutes=10 + 23 + 1)


def test_gateway__good_output_never_exceeds_the_input_delivered():
    gw = _plan_gateway(scrap_rate=0.1)
    gw._inbox.append(_wo(input_ready=10, minutes=10))
    for _ in range(60):
        gw.tick()
    assert max(p.done + p.scrap for p in _progress(gw, "B1")) == 10
    gw._inbox.append(_wo(input_ready=40, minutes=10))  # the rest arrived
    for _ in range(60):
        gw.tick()
    last = _progress(gw, "B1")[-1]
    assert last.done + last.scrap == 40
    assert last.scrap > 0  # scrap is reported
    assert not gw.jobs


def test_gateway__one_lot_at_a_time_per_machine_and_withdrawn_lots_dropped():
    gw = _plan_gateway()
    gw._inbox.append(_wo("B1", minutes=10))
    gw._inbox.append(_wo("B2", minutes=10))
    gw._inbox.append(_wo("B3", resource="R2", minutes=10))
    gw.tick()
    gw._inbox.append(_wo("B3", resource="R2", minutes=10, cancelled=True))
    for _ in range(10):  # 5 minutes
        gw.tick()
    assert _progress(gw, "B1")
    assert _progress(gw, "B2") == []  # waits for B1 on the same machine
    assert _progress(gw, "B3") == []
    assert {j.booking for j in gw.jobs} == {"B1", "B2"}


def test_gateway__machine_held_down_makes_no_progress():
    gw = _plan_gateway()
    gw.break_down("R1")
    gw._inbox.append(_wo(minutes=10))
    for _ in range(40):
        gw.tick()
    assert _progress(gw, "B1") == []
    states = [StatePayload.model_validate_json(p) for t, p in _sent(gw, "state")
              if t.endswith("/R1/state")]
    assert {s.status for s in states} == {"down"}


def test_gateway__input_on_the_road_is_not_worked_before_it_arrives():
    """s1's pieces are delivered at once but reach this factory 20 min later (the haul)."""
    gw = _plan_gateway()
    gw._inbox.append(_wo(input_ready=0, minutes=20))
    gw.tick()
    gw._inbox.append(_wo(input_ready=40, minutes=20,
                         input_at=START + timedelta(minutes=20)))
    for _ in range(39):  # up to 19.5 minutes: the truck is still on the road
        gw.tick()
    assert _progress(gw, "B1") == []
    for _ in range(80):
        gw.tick()
    progress = _progress(gw, "B1")
    assert progress[0].ts >= START + timedelta(minutes=20)
    assert progress[-1].done + progress[-1].scrap == 40


def test_gateway__a_cut_lot_stops_at_its_new_quantity_at_the_same_pace():
    gw = _plan_gateway()
    gw._inbox.append(_wo(quantity=40, minutes=20))
    for _ in range(10):  # 5 minutes: about 10 pieces
        gw.tick()
    gw._inbox.append(_wo(quantity=20, minutes=20))  # overrunning: cut to 20
    for _ in range(60):
        gw.tick()
    progress = _progress(gw, "B1")
    assert progress[-1].done + progress[-1].scrap == 20
    finished = progress[-1].ts - START
    assert finished <= timedelta(minutes=20 * 1.15 / 2 + 1)  # half the lot, same pace
    assert not gw.jobs
