"""The generated password file and ACL against a real Mosquitto started by the test.

Two factories of one park: F1's gateway credentials cannot publish for F2 (the message never
reaches the ingest), cannot read F2's work orders; anonymous and wrong passwords are refused;
the platform's own ingest and dispatcher work through the same broker, over TLS too.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from cli.mqtt_acl_cmd import write_acl_dir
from connectors.broker_acl import DISPATCHER_USER, INGEST_USER, BrokerUser
from connectors.directory import StaticDirectory
from connectors.dispatch import Dispatcher
from connectors.gateway import Behaviour, SimulatedGateway
from connectors.ingest import Ingest, NoEffects
from connectors.mqtt import BrokerAddress, IngestClient, Publisher, connect, new_client
from connectors.topics import Kind, resource_topic
from tests.connectors.helpers import fake_state
from tests.connectors.realservers import wait_for
from tests.connectors.securebroker import SecuredMosquitto, make_tls, mosquitto_or_skip

PARK = "P1"
FACTORIES = [(PARK, "F1"), (PARK, "F2")]
START = datetime(2026, 12, 1, 8, tzinfo=UTC)


@pytest.fixture
def users(tmp_path: Path) -> dict[str, BrokerUser]:
    made, _ = write_acl_dir(tmp_path / "acl", FACTORIES)
    return {u.username: u for u in made}


@pytest.fixture
def broker(tmp_path: Path, users: dict[str, BrokerUser]):
    server = SecuredMosquitto(mosquitto_or_skip(), tmp_path, tmp_path / "acl",
                              tls=make_tls(tmp_path))
    server.start()
    yield server
    server.stop()


def as_user(broker: SecuredMosquitto, user: BrokerUser | None, *,
            password: str | None = None) -> BrokerAddress:
    if user is None:
        return BrokerAddress("127.0.0.1", broker.port)
    return BrokerAddress("127.0.0.1", broker.port, username=user.username,
                         password=password or user.password)


def state(seq: int, status: str = "down") -> bytes:
    return json.dumps({"ts": datetime.now(UTC).isoformat(), "seq": seq,
                       "status": status}).encode()


class Listener:
    """A raw paho client that records what reaches it on ``topic_filter``."""

    def __init__(self, address: BrokerAddress, topic_filter: str) -> None:
        self.got: list[str] = []
        self.refused: list[Any] = []
        self.subscribed = threading.Event()
        self.client = new_client(address)
        self.client.on_connect = lambda c, u, f, reason, p: (
            self.refused.append(reason) if reason.is_failure
            else c.subscribe(topic_filter, qos=1))
        self.client.on_subscribe = lambda c, u, mid, reasons, p: self.subscribed.set()
        self.client.on_message = lambda c, u, m: self.got.append(m.topic)
        connect(self.client, address)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def ingest(broker: SecuredMosquitto, users: dict[str, BrokerUser]):
    directory = StaticDirectory([(PARK, "F1", "R1"), (PARK, "F1", "R2"), (PARK, "F2", "S1")])
    client = IngestClient(as_user(broker, users[INGEST_USER]),
                          Ingest(fake_state(), directory, NoEffects()))
    assert client.start(timeout_s=10), "the platform ingest could not subscribe"
    yield client
    client.stop()


def connect_refused(address: BrokerAddress) -> bool:
    """True when the broker answers the CONNECT with a refusal (or never accepts it)."""
    outcome: list[mqtt.ReasonCode] = []
    client = new_client(address)
    client.on_connect = lambda c, u, f, reason, p: outcome.append(reason)
    client.reconnect_delay_set(30, 30)  # one attempt is enough to learn the answer
    connect(client, address)
    wait_for(lambda: bool(outcome), 5)
    accepted = client.is_connected()
    client.disconnect()
    client.loop_stop()
    return not accepted and (not outcome or outcome[0].is_failure)


def test_acl__anonymous_and_wrong_password_refused(broker, users):
    assert connect_refused(as_user(broker, None))
    assert connect_refused(as_user(broker, users["gw/P1/F1"], password="guess"))
    assert not connect_refused(as_user(broker, users["gw/P1/F1"]))


def test_acl__factory_cannot_publish_for_another_factory(broker, users, ingest):
    f1 = Publisher(as_user(broker, users["gw/P1/F1"]))
    assert f1.start()
    forged = f1.publish(resource_topic(PARK, "F2", "S1", Kind.STATE), state(1), qos=1)
    forged.wait_for_publish(5)
    own = f1.publish(resource_topic(PARK, "F1", "R1", Kind.STATE), state(1, "running"), qos=1)
    own.wait_for_publish(5)
    # Messages of one publisher arrive in order: once F1's own is in, the forged one is not
    # coming. Nothing of F2 in the live state, and the ingest saw a single message.
    assert wait_for(lambda: "R1" in ingest.ingest.state.read(["R1"]), 10)
    time.sleep(0.3)
    live = ingest.ingest.state.read(["R1", "S1"])
    assert live["R1"].status == "running"
    assert "S1" not in live
    assert ingest.ingest.messages == 1
    assert ingest.ingest.state.last_seq(resource_topic(PARK, "F2", "S1", Kind.STATE)) is None
    f1.stop()


def test_acl__factory_reads_only_its_own_work_orders(broker, users):
    snoop = Listener(as_user(broker, users["gw/P1/F1"]), "sharefab/v1/#")
    own = Listener(as_user(broker, users["gw/P1/F1"]), "sharefab/v1/P1/F1/+/work-orders")
    other = Listener(as_user(broker, users["gw/P1/F1"]), "sharefab/v1/P1/F2/+/work-orders")
    for listener in (snoop, own, other):
        assert listener.subscribed.wait(5)
    pub = Publisher(as_user(broker, users[DISPATCHER_USER]))
    assert pub.start()
    directory = StaticDirectory([(PARK, "F1", "R1"), (PARK, "F2", "R1b")])
    dispatcher = Dispatcher(pub, directory)
    rows = [{"booking": f"B-{f}", "order": "O1", "step": "s1", "factory": f, "resource": r,
             "quantity": 10, "start": START, "end": START.replace(hour=9), "pricing": None,
             "cost": 1.0} for f, r in (("F2", "R1b"), ("F1", "R1"))]
    assert len(dispatcher.dispatch(rows)) == 2
    assert wait_for(lambda: own.got == ["sharefab/v1/P1/F1/R1/work-orders"], 10)
    time.sleep(0.3)  # F2's went first: had it been delivered, it would be here by now
    assert other.got == []
    assert "sharefab/v1/P1/F2/R1b/work-orders" not in snoop.got
    for listener in (snoop, own, other):
        listener.stop()
    pub.stop()


def test_acl__platform_ingest_and_gateway_work_end_to_end(broker, users, ingest):
    gw = SimulatedGateway(as_user(broker, users["gw/P1/F1"]), PARK, "F1", ["R1", "R2"],
                          rate_hz=20, behaviour=Behaviour(breakdown_p=0.0))
    assert gw.start()
    assert wait_for(lambda: len(ingest.ingest.state.read(["R1", "R2"])) == 2, 10)
    assert wait_for(lambda: ingest.ingest.state.redis.hget(
        ingest.ingest.state.gw_key(PARK, "F1"), "online") == b"1", 10)
    assert ingest.ingest.rejected == {}
    gw.stop()


def test_acl__tls_listener_with_generated_ca(broker, users, tmp_path):
    assert broker.tls_port is not None
    url = f"mqtts://{INGEST_USER}:{users[INGEST_USER].password}@127.0.0.1:{broker.tls_port}"
    secure_ingest = BrokerAddress.from_url(url, ca_file=str(tmp_path / "ca.pem"))
    directory = StaticDirectory([(PARK, "F1", "R1")])
    client = IngestClient(secure_ingest, Ingest(fake_state(), directory, NoEffects()))
    assert client.start(timeout_s=10), "ingest over TLS did not subscribe"
    gw_url = f"mqtts://gw%2FP1%2FF1:{users['gw/P1/F1'].password}@127.0.0.1:{broker.tls_port}"
    pub = Publisher(BrokerAddress.from_url(gw_url, ca_file=str(tmp_path / "ca.pem")))
    assert pub.start()
    pub.publish(resource_topic(PARK, "F1", "R1", Kind.STATE), state(1, "idle"), qos=1)
    assert wait_for(lambda: "R1" in client.ingest.state.read(["R1"]), 10)
    pub.stop()
    client.stop()
    # Without our CA the broker's certificate does not verify: no connection.
    untrusted = BrokerAddress.from_url(gw_url)
    assert connect_refused(untrusted)
