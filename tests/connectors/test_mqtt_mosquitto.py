"""The MQTT side against the real Mosquitto and Redis (fixtures ``mqtt_url``, ``redis_url``).

Each test uses its own park id, share group and Redis key prefix, so tests (and other
helpers' tests) on the same servers never see each other's messages.
"""

import json
from datetime import UTC, datetime

import pytest

from connectors.directory import StaticDirectory
from connectors.dispatch import Dispatcher
from connectors.gateway import Behaviour, SimulatedGateway
from connectors.ingest import NoEffects
from connectors.mqtt import BrokerAddress, Publisher
from connectors.topics import Kind, resource_topic
from tests.connectors.realservers import redis_state, running_ingest, unique, wait_for

pytestmark = [pytest.mark.mosquitto, pytest.mark.redis]


def now_iso():
    return datetime.now(UTC).isoformat()


@pytest.fixture
def address(mqtt_url):
    return BrokerAddress.from_url(mqtt_url)


def test_state_message__visible_in_live_state(address, redis_url):
    park = unique("P")
    directory = StaticDirectory([(park, "F1", "R1")])
    with redis_state(redis_url) as state, running_ingest(address, state, directory, park):
        pub = Publisher(address)
        assert pub.start()
        body = json.dumps({"ts": now_iso(), "seq": 1, "status": "down", "utilization": 0.25})
        pub.publish(resource_topic(park, "F1", "R1", Kind.STATE), body.encode(), retain=True)
        assert wait_for(lambda: "R1" in state.read(["R1"]))
        live = state.read(["R1"])["R1"]
        assert (live.status, live.utilization) == ("down", 0.25)
        # clean the retained message so it does not outlive the test
        pub.publish(resource_topic(park, "F1", "R1", Kind.STATE), b"", retain=True, qos=1)
        pub.stop()


def test_last_will__marks_gateway_resources_offline(address, redis_url):
    park = unique("P")
    rids = ["R1", "R2"]
    directory = StaticDirectory([(park, "F1", r) for r in rids])
    with redis_state(redis_url) as state, running_ingest(address, state, directory, park):
        gw = SimulatedGateway(address, park, "F1", rids, rate_hz=20,
                              behaviour=Behaviour(breakdown_p=0.0, start_p=1.0, finish_p=0.0))
        assert gw.start()
        assert wait_for(lambda: {r.status for r in state.read(rids).values()} == {"running"}
                        and len(state.read(rids)) == 2)
        gw.crash()  # no DISCONNECT: Mosquitto publishes the Will
        assert wait_for(lambda: {r.status for r in state.read(rids).values()} == {"offline"})
        gw_hash = state.redis.hgetall(state.gw_key(park, "F1"))
        assert gw_hash[b"online"] == b"0"
        _clear_retained(address, park, "F1", rids)


def test_work_order__reaches_gateway_and_progress_comes_back(address, redis_url):
    park = unique("P")
    directory = StaticDirectory([(park, "F1", "R1")], bookings={"B-77": "R1"})
    effects = NoEffects()
    with redis_state(redis_url) as state, \
            running_ingest(address, state, directory, park, effects=effects):
        gw = SimulatedGateway(address, park, "F1", ["R1"], rate_hz=20,
                              behaviour=Behaviour(breakdown_p=0.0, time_scale=600.0))
        assert gw.start()
        pub = Publisher(address)
        assert pub.start()
        dispatcher = Dispatcher(pub, directory)
        start = datetime(2026, 12, 1, 8, tzinfo=UTC)
        topics = dispatcher.dispatch([{
            "booking": "B-77", "order": "O1", "step": "s1", "factory": "F1", "resource": "R1",
            "quantity": 120, "start": start, "end": start.replace(minute=20),
            "pricing": "per_piece", "cost": 780.0}])
        assert topics == [f"sharefab/v1/{park}/F1/R1/work-orders"]
        assert wait_for(lambda: gw.work_orders_received == 1)
        assert wait_for(lambda: sum(effects.progress.get("B-77", (0, 0))) == 120)
        done, scrap = effects.progress["B-77"]
        assert done > 0
        assert done + scrap == 120
        gw.stop()
        pub.stop()
        _clear_retained(address, park, "F1", ["R1"])


def test_shared_subscription__two_consumers_split_and_agree_on_seq(address, redis_url):
    park = unique("P")
    rids = [f"R{i}" for i in range(10)]
    directory = StaticDirectory([(park, "F1", r) for r in rids])
    group = unique("g")
    with redis_state(redis_url) as state, \
            running_ingest(address, state, directory, park, group=group) as a, \
            running_ingest(address, state, directory, park, group=group) as b:
        pub = Publisher(address)
        assert pub.start()
        for seq in range(1, 31):
            for rid in rids:
                status = "down" if seq == 30 else "idle"
                body = json.dumps({"ts": now_iso(), "seq": seq, "status": status})
                pub.publish(resource_topic(park, "F1", rid, Kind.STATE), body.encode(), qos=1)
        assert wait_for(lambda: a.ingest.messages + b.ingest.messages == 300)
        assert a.ingest.messages > 0
        assert b.ingest.messages > 0
        # Whatever order the two consumers applied them in, the newest seq wins.
        assert {r.status for r in state.read(rids).values()} == {"down"}
        assert all(state.last_seq(resource_topic(park, "F1", r, Kind.STATE)) == 30 for r in rids)
        pub.stop()


def _clear_retained(address, park, factory, rids):
    pub = Publisher(address)
    pub.start()
    infos = [pub.publish(f"sharefab/v1/{park}/{factory}/gateway/status", b"", qos=1, retain=True)]
    for rid in rids:
        for kind in (Kind.STATE, Kind.AVAILABILITY):
            infos.append(pub.publish(resource_topic(park, factory, rid, kind), b"", qos=1,
                                     retain=True))
    for info in infos:
        info.wait_for_publish(timeout=5)
    pub.stop()
