"""The embedded broker: retained messages only for a client's own subscriptions, quiet logs,
and our clients find the protocol it speaks (MQTT 3.1.1) on their own."""

from __future__ import annotations

import logging
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from connectors.broker import free_port
from connectors.mqtt import BrokerAddress, negotiate
from tests.connectors.embedded import running_broker


def _client(port: int, name: str) -> tuple[mqtt.Client, list[str], threading.Event]:
    """A 3.1.1 paho client recording the topics it receives; the event fires on SUBACK."""
    got: list[str] = []
    subscribed = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name,
                    protocol=MQTTProtocolVersion.MQTTv311)
    c.on_message = lambda _c, _u, m: got.append(m.topic)
    c.on_subscribe = lambda *_a: subscribed.set()
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c, got, subscribed


def test_broker__retained_only_for_the_clients_own_subscriptions():
    with running_broker() as broker:
        pub, _, _ = _client(broker.port, "pub")
        pub.publish("sharefab/v1/P1/F1/R1/state", b"{}", qos=1, retain=True).wait_for_publish(5)
        # Someone else holds a filter matching the retained topic ...
        watcher, watcher_got, watcher_sub = _client(broker.port, "watcher")
        watcher.subscribe("sharefab/v1/P1/F1/R1/state", qos=1)
        assert watcher_sub.wait(5)
        # ... a gateway subscribing only to its work orders must not get the state.
        gw, gw_got, gw_sub = _client(broker.port, "gateway")
        gw.subscribe("sharefab/v1/P1/F1/R1/work-orders", qos=1)
        assert gw_sub.wait(5)
        time.sleep(0.5)
        for c in (pub, watcher, gw):
            c.disconnect()
            c.loop_stop()
    assert watcher_got == ["sharefab/v1/P1/F1/R1/state"]  # its own filter: delivered
    assert gw_got == []


def test_broker__amqtt_info_lines_stay_out_of_the_log(caplog):
    with caplog.at_level(logging.INFO), running_broker() as broker:
        c, _, subscribed = _client(broker.port, "chatty")
        c.subscribe("a/b")
        assert subscribed.wait(5)
        c.disconnect()
        c.loop_stop()
    chatter = [r for r in caplog.records
               if r.name.startswith(("amqtt", "transitions")) and r.levelno < logging.WARNING]
    assert chatter == []


def test_negotiate__falls_back_to_311_on_the_embedded_broker():
    with running_broker() as broker:
        found = negotiate(BrokerAddress("127.0.0.1", broker.port, mqtt5=True), timeout_s=5)
    assert found == BrokerAddress("127.0.0.1", broker.port, mqtt5=False)


def test_negotiate__nothing_listening_is_a_connection_error_naming_the_url():
    port = free_port()
    with pytest.raises(ConnectionError, match=f"mqtt://127.0.0.1:{port}"):
        negotiate(BrokerAddress("127.0.0.1", port), timeout_s=2)


@pytest.mark.mosquitto
def test_negotiate__keeps_mqtt5_on_mosquitto(mqtt_url):
    found = negotiate(BrokerAddress.from_url(mqtt_url), timeout_s=5)
    assert found.mqtt5


class _SlowIngest:
    """Applies each batch after 6 s: longer than amqtt's hard-coded 5 s PUBACK timeout."""

    def __init__(self):
        self.publish = lambda *_a: None
        self.state = type("S", (), {"warm_up": staticmethod(lambda: None)})()
        self.seen: list[str] = []

    def handle_batch(self, batch):
        time.sleep(6)
        self.seen += [m.topic for m in batch]
        return [type("O", (), {"status": "applied"})() for _ in batch]


@pytest.mark.slow
def test_ingest_on_embedded_broker__slow_batch_loses_nothing_and_logs_no_timeouts(caplog):
    from connectors.mqtt import IngestClient

    with caplog.at_level(logging.WARNING), running_broker() as broker:
        ingest = _SlowIngest()
        client = IngestClient(broker.address, ingest, hold_acks=False)  # as MqttRuntime does
        assert client.start(10)
        pub, _, _ = _client(broker.port, "pub-slow")
        for i in range(3):
            pub.publish(f"sharefab/v1/P1/F1/R{i}/progress", b"{}", qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 30
        while len(ingest.seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        pub.disconnect()
        pub.loop_stop()
        client.stop()
    assert sorted(ingest.seen) == [f"sharefab/v1/P1/F1/R{i}/progress" for i in range(3)]
    assert not [r for r in caplog.records if "PUBACK" in r.getMessage()]
