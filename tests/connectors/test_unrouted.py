"""QoS 1 messages the broker had no subscriber for are published again, within bounds.

Against the real Mosquitto (MQTT 5: PUBACK reason 0x10 "No matching subscribers"); each test
uses its own topic, so nothing else on the shared broker subscribes to it.
"""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from connectors.mqtt import BrokerAddress, Publisher, new_client, wait_connected
from tests.connectors.realservers import unique, wait_for

pytestmark = [pytest.mark.mosquitto]


@pytest.fixture
def address(mqtt_url: str) -> BrokerAddress:
    return BrokerAddress.from_url(mqtt_url)


def _subscriber(address: BrokerAddress, topic: str, got: list[bytes]) -> mqtt.Client:
    client = new_client(address)
    subscribed = threading.Event()
    client.on_connect = lambda c, u, f, r, p: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda c, u, mid, r, p: subscribed.set()
    client.on_message = lambda c, u, m: got.append(bytes(m.payload))
    client.connect(address.host, address.port)
    client.loop_start()
    assert wait_connected(client, 5)
    assert subscribed.wait(5)
    return client


def test_no_subscriber__published_again_until_one_subscribes(address: BrokerAddress) -> None:
    topic = f"{unique('unrouted')}/t"
    publisher = Publisher(address)
    assert publisher.start()
    got: list[bytes] = []
    subscriber = None
    try:
        publisher.publish(topic, b"first", qos=1)
        assert wait_for(lambda: publisher.client.retried >= 2, 5), "not published again"
        assert publisher.client.waiting <= 1  # 0 while the retry thread holds it
        subscriber = _subscriber(address, topic, got)
        assert wait_for(lambda: got == [b"first"], 10), got
        assert wait_for(lambda: publisher.client.waiting == 0, 5)
        retried = publisher.client.retried
        publisher.publish(topic, b"second", qos=1)  # routed at once: nothing to retry
        assert wait_for(lambda: got == [b"first", b"second"], 5), got
        assert publisher.client.retried == retried
        assert publisher.client.dropped == 0
    finally:
        publisher.stop()
        if subscriber is not None:
            subscriber.disconnect()
            subscriber.loop_stop()


def test_retry__never_puts_an_older_retained_state_back(address: BrokerAddress) -> None:
    """"old" is retried after "new" was published: a later subscriber must still get "new"
    as the topic's retained message (the broker keeps the first publish as retained)."""
    topic = f"{unique('unrouted')}/state"
    publisher = Publisher(address)
    assert publisher.start()
    retained: list[bytes] = []
    seen = threading.Event()
    client = new_client(address)
    try:
        publisher.publish(topic, b"old", qos=1, retain=True)
        assert wait_for(lambda: publisher.client.retried >= 1, 5), "not published again"
        publisher.publish(topic, b"new", qos=1, retain=True)
        # old's next retry comes after new's first one (the delay doubles each time)
        assert wait_for(lambda: publisher.client.retried >= 3, 15), publisher.client.retried

        def on_message(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
            if m.retain:
                retained.append(bytes(m.payload))
                seen.set()

        client.on_connect = lambda c, u, f, r, p: c.subscribe(topic, qos=1)
        client.on_message = on_message
        client.connect(address.host, address.port)
        client.loop_start()
        assert seen.wait(5), "no retained message"
        assert retained == [b"new"]
    finally:
        publisher.publish(topic, b"", qos=1, retain=True)  # leave no retained message
        publisher.stop()
        client.disconnect()
        client.loop_stop()


def test_no_subscriber__qos0_not_kept(address: BrokerAddress) -> None:
    """QoS 0 gets no PUBACK: fire and forget, as before."""
    publisher = Publisher(address)
    assert publisher.start()
    try:
        publisher.publish(f"{unique('unrouted')}/t", b"x", qos=0).wait_for_publish(5)
        assert publisher.client.waiting == 0
        assert publisher.client.retried == 0
    finally:
        publisher.stop()


def test_waiting_bounded__excess_dropped_and_counted(address: BrokerAddress) -> None:
    client = new_client(address)
    client.max_waiting = 3
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        assert wait_connected(client, 5)
        topic = f"{unique('unrouted')}/t"
        for i in range(5):
            client.publish(topic, str(i).encode(), qos=1).wait_for_publish(5)
        assert wait_for(lambda: client.dropped == 2, 5), (client.dropped, client.waiting)
        assert client.waiting <= 3
    finally:
        client.disconnect()
        client.loop_stop()


def test_gives_up_after_give_up_s(address: BrokerAddress) -> None:
    client = new_client(address)
    client.give_up_s = 0.5
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        assert wait_connected(client, 5)
        client.publish(f"{unique('unrouted')}/t", b"x", qos=1)
        assert wait_for(lambda: client.dropped == 1, 5)
        assert client.waiting == 0
        assert client.retried >= 1
    finally:
        client.disconnect()
        client.loop_stop()


def test_held_while_offline__published_in_order_once_connected(address: BrokerAddress) -> None:
    """Published before the connection is up (the gate is shut until the backlog of the
    connection is acknowledged): held here, not lost, sent in order, and the returned info
    becomes the real message's."""
    topic = f"{unique('held')}/t"
    got: list[bytes] = []
    subscriber = _subscriber(address, topic, got)
    publisher = Publisher(address)
    try:
        infos = [publisher.publish(topic, f"m{i}".encode(), qos=1) for i in range(30)]
        assert all(info.rc == 0 for info in infos)
        assert publisher.client.held == 30
        assert not infos[0].is_published()
        assert publisher.start()
        infos[-1].wait_for_publish(timeout=10)
        assert infos[-1].is_published()
        assert wait_for(lambda: len(got) == 30, 10), got
        assert got == [f"m{i}".encode() for i in range(30)]
        assert publisher.client.held == 0
        assert publisher.client.held_total == 30
        assert len({info.mid for info in infos}) == 30  # each got its real mid
    finally:
        publisher.stop()
        subscriber.disconnect()
        subscriber.loop_stop()

def test_unrouted__uses_no_private_name_of_paho() -> None:
    """The client keeps its own books (mids, held messages) through paho's public API only,
    so paho can be upgraded (pyproject.toml no longer caps it): no ``self._x`` or
    ``super()._x`` it uses may be one of paho's own private names."""
    import ast
    from pathlib import Path

    from paho.mqtt.enums import CallbackAPIVersion

    import connectors.unrouted as unrouted

    tree = ast.parse(Path(unrouted.__file__).read_text(encoding="utf-8"))
    paho_private = {n for n in dir(mqtt.Client) if n.startswith("_") and not n.startswith("__")}
    paho_private |= set(vars(mqtt.Client(CallbackAPIVersion.VERSION2)))
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and node.attr.startswith("_") and not node.attr.startswith("__")}
    assert used & paho_private == set()
    assert "_out_messages" in paho_private  # the probe knows paho's internals
