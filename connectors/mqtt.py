"""paho-mqtt 2.x glue: clients that reconnect on their own, a publisher, the ingest client.

paho runs callbacks on its network thread (DESIGN 6): ``on_message`` only puts the message on a
bounded queue (blocking when full: backpressure through TCP rather than loss), and a worker
thread drains it in batches through ``Ingest.handle_batch``. QoS 1 messages are acknowledged
only after their batch is applied (paho's manual ack), so a crash in between means the broker
delivers them again, and the seq check drops what was already applied.

After a lost connection paho reconnects with exponential backoff (``reconnect_delay_set``) and
``on_connect`` subscribes again; retained messages come back with the subscription and rebuild
whatever state was missing.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from connectors.ingest import Incoming, Ingest
from connectors.topics import ALL_FILTER, shared_filter

log = logging.getLogger(__name__)

MAX_INFLIGHT = 100
MAX_QUEUED = 10_000


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    # Mosquitto speaks MQTT 5 (shared subscriptions); the embedded amqtt broker only 3.1.1.
    mqtt5: bool = True

    @classmethod
    def from_url(cls, url: str, *, mqtt5: bool = True) -> BrokerAddress:
        parsed = urlparse(url if "://" in url else f"mqtt://{url}")
        if parsed.scheme not in ("mqtt", "tcp"):
            raise ValueError(f"mqtt_url: unsupported scheme {parsed.scheme!r} (use mqtt://)")
        return cls(parsed.hostname or "127.0.0.1", parsed.port or 1883, mqtt5)


def new_client(address: BrokerAddress, client_id: str | None = None, *,
               persistent: bool = False) -> mqtt.Client:
    """A paho client with bounded queues and automatic reconnect backoff (1 s .. 5 s).

    ``persistent`` (MQTT 3.1.1 only; MQTT 5 says it at connect time): the broker keeps the
    session and queues messages while the client is away.
    """
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"sharefab-{uuid.uuid4().hex[:12]}",
        protocol=MQTTProtocolVersion.MQTTv5 if address.mqtt5 else MQTTProtocolVersion.MQTTv311,
        clean_session=None if address.mqtt5 else not persistent,
    )
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.max_queued_messages_set(MAX_QUEUED)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    client.on_socket_open = _no_delay
    return client


def _no_delay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """paho leaves Nagle's algorithm on: small QoS 0 messages then wait for the peer's delayed
    ACK (~40 ms on Linux). Telemetry wants them out at once."""
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect(client: mqtt.Client, address: BrokerAddress, *, keepalive: int = 30,
            session_expiry_s: int = 0) -> None:
    """Start the network thread; the first connection is retried like any reconnect.

    ``session_expiry_s`` > 0 (MQTT 5): resume the broker's session and keep it that long.
    """
    if address.mqtt5:
        props = None
        if session_expiry_s:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = session_expiry_s
        client.connect_async(address.host, address.port, keepalive=keepalive,
                             clean_start=not session_expiry_s, properties=props)
    else:
        client.connect_async(address.host, address.port, keepalive=keepalive)
    client.loop_start()


def negotiate(address: BrokerAddress, timeout_s: float = 5.0) -> BrokerAddress:
    """``address`` with the protocol its broker speaks: MQTT 5 when it accepts it, else 3.1.1.

    Mosquitto takes MQTT 5; the embedded amqtt broker only 3.1.1 and refuses a v5 CONNECT,
    so a client that always said v5 would retry for ever and send nothing. One short probe
    connection per protocol; raises ``ConnectionError`` saying what each attempt met.
    """
    tried: list[str] = []
    for mqtt5 in (True, False) if address.mqtt5 else (False,):
        candidate = dataclasses.replace(address, mqtt5=mqtt5)
        problem = _probe(candidate, timeout_s)
        if problem is None:
            return candidate
        tried.append(f"MQTT {'5' if mqtt5 else '3.1.1'}: {problem}")
    raise ConnectionError(f"cannot connect to the MQTT broker at mqtt://{address.host}:"
                          f"{address.port} ({'; '.join(tried)})")


def _probe(address: BrokerAddress, timeout_s: float) -> str | None:
    """Connect once and disconnect: None when the broker accepted, else what went wrong."""
    answer: list[str] = []

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode,
                   props: Properties | None) -> None:
        answer.append(f"refused: {reason}" if reason.is_failure else "")

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"sharefab-probe-{uuid.uuid4().hex[:12]}",
        protocol=MQTTProtocolVersion.MQTTv5 if address.mqtt5 else MQTTProtocolVersion.MQTTv311)
    client.on_connect = on_connect
    try:
        client.connect(address.host, address.port, keepalive=10)
    except (OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    deadline = time.monotonic() + timeout_s
    try:
        while not answer and time.monotonic() < deadline:
            if client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                return "the broker closed the connection"
    finally:
        client.disconnect()
    if not answer:
        return f"no answer within {timeout_s:g} s"
    return answer[0] or None


def wait_connected(client: mqtt.Client, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.is_connected():
            return True
        time.sleep(0.01)
    return client.is_connected()


class Publisher:
    """A connected paho client for publishing (work orders, rejections, gateways)."""

    def __init__(self, address: BrokerAddress, client_id: str | None = None,
                 will: tuple[str, bytes] | None = None) -> None:
        self.address = address
        self.client = new_client(address, client_id)
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1, retain=True)
        self.on_connect: Callable[[], None] | None = None
        self.client.on_connect = self._on_connect

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason: ReasonCode, props: Properties | None) -> None:
        if not reason.is_failure and self.on_connect is not None:
            self.on_connect()

    def start(self, timeout_s: float = 10.0) -> bool:
        connect(self.client, self.address)
        return wait_connected(self.client, timeout_s)

    def publish(self, topic: str, payload: bytes, *, qos: int = 0,
                retain: bool = False) -> mqtt.MQTTMessageInfo:
        """Queue one message; QoS 1 messages wait in paho's bounded queue while offline."""
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class IngestClient:
    """Subscribes, queues, and feeds ``Ingest.handle_batch`` from one worker thread."""

    def __init__(self, address: BrokerAddress, ingest: Ingest, *, shared: bool | None = None,
                 topic_filter: str = ALL_FILTER, group: str = "ingest",
                 client_id: str | None = None, queue_size: int = 20_000,
                 batch_max: int = 500, persistent: bool = False) -> None:
        self.address = address
        self.ingest = ingest
        self.shared = address.mqtt5 if shared is None else shared
        self.subscription = shared_filter(topic_filter, group) if self.shared else topic_filter
        self.persistent = persistent
        self.client = new_client(address, client_id, persistent=persistent)
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        # deque append/popleft are atomic under the GIL: cheaper than queue.Queue's locks on
        # the network thread. Bounded by hand: a full buffer makes on_message wait.
        self.buffer: deque[Incoming] = deque()
        self.buffer_max = queue_size
        self._wake = threading.Event()
        self.batch_max = batch_max
        self.generation = 0
        self.connects = 0
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._drain, name="ingest-worker", daemon=True)
        if ingest.publish is None:
            ingest.publish = self._publish_rejection

    # ----------------------------------------------------------------- paho callbacks (short)
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason: ReasonCode, props: Properties | None) -> None:
        if reason.is_failure:
            log.warning("ingest: broker refused the connection: %s", reason)
            return
        self.generation += 1
        self.connects += 1
        client.subscribe(self.subscription, qos=1)
        log.info("ingest: connected (#%d), subscribed to %s", self.connects, self.subscription)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reasons: list[ReasonCode], props: Properties | None) -> None:
        if all(not r.is_failure for r in reasons):
            self.subscribed.set()
        else:
            log.error("ingest: subscription to %s refused: %s", self.subscription, reasons)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any,
                       reason: ReasonCode, props: Properties | None) -> None:
        self.subscribed.clear()
        if not self._stop.is_set():
            log.warning("ingest: connection lost (%s); paho reconnects with backoff", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        while len(self.buffer) >= self.buffer_max and not self._stop.is_set():
            time.sleep(0.001)  # backpressure: stop reading, TCP pushes back on the broker
        self.buffer.append(Incoming(message.topic, bytes(message.payload),
                                    retained=bool(message.retain), qos=message.qos,
                                    mid=message.mid, generation=self.generation))
        if len(self.buffer) == 1:
            self._wake.set()

    # ----------------------------------------------------------------- worker thread
    def _drain(self) -> None:
        buffer, take = self.buffer, self.buffer.popleft
        while not self._stop.is_set() or buffer:
            if not buffer:
                self._wake.clear()
                if not buffer:  # re-check: a message may have arrived before clear()
                    self._wake.wait(0.2)
                continue
            batch = [take() for _ in range(min(len(buffer), self.batch_max))]
            self._process(batch)

    def _process(self, batch: list[Incoming]) -> None:
        delay = 0.1
        for _attempt in range(6):
            try:
                self.ingest.handle_batch(batch)
                break
            except Exception as exc:  # Redis down: wait and retry; never let the thread die
                log.warning("ingest: batch of %d failed (%s); retrying in %.1fs",
                            len(batch), exc, delay)
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, 5.0)
        else:
            log.error("ingest: dropped a batch of %d after retries", len(batch))
        for msg in batch:
            if msg.qos > 0 and msg.generation == self.generation:
                self.client.ack(msg.mid, msg.qos)

    def _publish_rejection(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=0)

    # ----------------------------------------------------------------- lifecycle
    def start(self, timeout_s: float = 10.0) -> bool:
        try:
            self.ingest.state.warm_up()
        except Exception as exc:  # Redis may come later: the worker retries each batch
            log.warning("ingest: Redis not ready at start (%s)", exc)
        self._worker.start()
        connect(self.client, self.address, session_expiry_s=3600 if self.persistent else 0)
        return self.subscribed.wait(timeout_s)

    def stop(self) -> None:
        self._stop.set()
        self.client.disconnect()
        self.client.loop_stop()
        self._worker.join(timeout=5)
