"""paho-mqtt 2.x glue: clients that reconnect on their own, a publisher, the ingest client.

paho runs callbacks on its network thread: ``on_message`` only puts the message on a
bounded queue, and a worker thread drains it in batches through ``Ingest.handle_batch``.

At least once, never acknowledged unapplied: QoS 1 messages are acknowledged only after their
batch is applied (paho's manual ack). While Redis or the database is down the worker retries
the same batch with backoff (capped at 5 s) for as long as it takes, acknowledging nothing;
a message whose database effect was deferred (``status == "retry"``) stays unacknowledged and
is retried too. Memory stays bounded while waiting: on MQTT 5 the CONNECT Receive Maximum
tells the broker to stop sending QoS 1 messages once that many are unacknowledged (the broker
queues the rest: Mosquitto's ``max_queued_messages``), and QoS 0 telemetry arriving at a full
buffer is shed and counted (the next state message supersedes it). On MQTT 3.1.1 (no Receive
Maximum) a full buffer blocks the network thread instead: backpressure through TCP. A crash
before the ack means the broker delivers again (persistent sessions resume), and the seq
check drops what was already applied.

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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from connectors.ingest import Incoming, Ingest
from connectors.metrics import INGEST_ACKED, INGEST_BATCH_FAILURES, INGEST_DEFERRED, INGEST_SHED
from connectors.topics import ALL_FILTER, shared_filter
from connectors.unrouted import RedeliveringClient

log = logging.getLogger(__name__)

MAX_INFLIGHT = 100
MAX_QUEUED = 10_000


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files for ``mqtts://``: the CA that signed the broker's certificate (None: the
    system's trust store) and, when the broker asks for one, our client certificate."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where a broker is and how to log in: every client of ours (ingest, dispatcher, gateway,
    bench) is built from one of these, so a park's secured broker works for all of them."""

    host: str
    port: int
    # Mosquitto speaks MQTT 5 (shared subscriptions); the embedded amqtt broker only 3.1.1.
    mqtt5: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # None: plain TCP. Set (even to TlsFiles()): TLS, the broker's certificate verified.
    tls: TlsFiles | None = None

    @classmethod
    def from_url(cls, url: str, *, mqtt5: bool = True, username: str | None = None,
                 password: str | None = None, ca_file: str | None = None,
                 cert_file: str | None = None, key_file: str | None = None) -> BrokerAddress:
        """``mqtt://[user[:password]@]host[:port]`` or ``mqtts://`` (TLS, default port 8883).

        Credentials in the URL win over the keyword arguments (percent-decoded: a password
        may hold any character). CA or client certificate files imply TLS.
        """
        parsed = urlparse(url if "://" in url else f"mqtt://{url}")
        if parsed.scheme not in ("mqtt", "tcp", "mqtts", "ssl"):
            raise ValueError(f"mqtt_url: unsupported scheme {parsed.scheme!r} "
                             f"(use mqtt:// or mqtts://)")
        secure = parsed.scheme in ("mqtts", "ssl") or bool(ca_file or cert_file)
        if bool(cert_file) != bool(key_file):
            raise ValueError("mqtt client certificate: set both the cert file and the key file")
        user = unquote(parsed.username) if parsed.username else username
        secret = unquote(parsed.password) if parsed.password is not None else password
        if secret is not None and not user:
            raise ValueError("mqtt_url: a password without a user name")
        tls = TlsFiles(ca_file, cert_file, key_file) if secure else None
        return cls(parsed.hostname or "127.0.0.1", parsed.port or (8883 if secure else 1883),
                   mqtt5, user or None, secret, tls)

    def __str__(self) -> str:
        """The address without the password (for logs)."""
        who = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{who}{self.host}:{self.port}"


def secure(client: mqtt.Client, address: BrokerAddress) -> None:
    """Apply the address's credentials and TLS settings to a paho client (before connect)."""
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls is not None:
        # paho builds a default SSLContext: TLS >= 1.2, the broker's certificate and host name
        # verified against ca_file (or the system store). Nothing here turns that off.
        client.tls_set(ca_certs=address.tls.ca_file, certfile=address.tls.cert_file,
                       keyfile=address.tls.key_file)


def new_client(address: BrokerAddress, client_id: str | None = None, *,
               persistent: bool = False) -> RedeliveringClient:
    """A paho client with bounded queues and automatic reconnect backoff (1 s .. 5 s).

    ``persistent`` (MQTT 3.1.1 only; MQTT 5 says it at connect time): the broker keeps the
    session and queues messages while the client is away. QoS 1 messages the broker had no
    subscriber for are published again (``connectors.unrouted``): a broker restart forgets
    the ingest's shared subscription until the ingest subscribes again.
    """
    client = RedeliveringClient(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"sharefab-{uuid.uuid4().hex[:12]}",
        protocol=MQTTProtocolVersion.MQTTv5 if address.mqtt5 else MQTTProtocolVersion.MQTTv311,
        clean_session=None if address.mqtt5 else not persistent,
    )
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.max_queued_messages_set(MAX_QUEUED)
    client.reconnect_delay_set(min_delay=1, max_delay=5)
    client.on_socket_open = _no_delay
    secure(client, address)
    return client


def _no_delay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """paho leaves Nagle's algorithm on: small QoS 0 messages then wait for the peer's delayed
    ACK (~40 ms on Linux). Telemetry wants them out at once."""
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect(client: mqtt.Client, address: BrokerAddress, *, keepalive: int = 30,
            session_expiry_s: int = 0, receive_maximum: int = 0) -> None:
    """Start the network thread; the first connection is retried like any reconnect.

    ``session_expiry_s`` > 0 (MQTT 5): resume the broker's session and keep it that long.
    ``receive_maximum`` > 0 (MQTT 5): at most that many unacknowledged QoS 1 messages in flight
    to us; the broker holds the rest.
    """
    if address.mqtt5:
        props = None
        if session_expiry_s or receive_maximum:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            if session_expiry_s:
                props.SessionExpiryInterval = session_expiry_s
            if receive_maximum:
                props.ReceiveMaximum = receive_maximum
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
    raise ConnectionError(f"cannot connect to the MQTT broker at {address} "
                          f"({'; '.join(tried)})")


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
    secure(client, address)  # a secured broker refuses an anonymous probe
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
                 batch_max: int = 500, persistent: bool = False,
                 receive_maximum: int = 1000, session_expiry_s: int = 3600,
                 hold_acks: bool = True) -> None:
        self.address = address
        self.ingest = ingest
        self.shared = address.mqtt5 if shared is None else shared
        self.subscription = shared_filter(topic_filter, group) if self.shared else topic_filter
        self.persistent = persistent
        self.session_expiry_s = session_expiry_s
        # Never more unacknowledged QoS 1 messages than the buffer holds.
        self.receive_maximum = max(1, min(receive_maximum, queue_size, 65_535))
        self.client = new_client(address, client_id, persistent=persistent)
        # ``hold_acks``: acknowledge QoS 1 only once applied (a crash means redelivery). False
        # for the embedded broker: it lives and dies with this process, so holding buys nothing,
        # and amqtt drops a QoS 1 message not acknowledged within 5 s (hard-coded; a backlog
        # at start under load takes longer) with an ERROR traceback per message.
        self.hold_acks = hold_acks
        self.client.manual_ack_set(hold_acks)
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
        # Counted for tests and the worker log; the same numbers go to Prometheus.
        self.acked = 0
        self.shed = 0
        self.batch_failures = 0
        self.deferred = 0
        self.retrying = threading.Event()  # set while a batch waits for Redis / the database
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
        if len(self.buffer) >= self.buffer_max:
            if message.qos == 0:  # telemetry: the next state message supersedes this one
                self.shed += 1
                INGEST_SHED.inc()
                return
            # QoS 1 past the buffer only without Receive Maximum (MQTT 3.1.1): stop reading,
            # TCP pushes back on the broker.
            while len(self.buffer) >= self.buffer_max and not self._stop.is_set():
                time.sleep(0.001)
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
        """Apply ``batch`` until every message is applied (or refused for good), then ack.

        Nothing is dropped: a batch that raises (Redis down) is retried whole, a message whose
        effect was deferred (database down) is retried alone; only ``stop()`` ends the wait,
        leaving those messages unacknowledged for the broker to deliver again.
        """
        delay = 0.1
        while batch:
            try:
                outcomes = self.ingest.handle_batch(batch)
            except Exception as exc:  # Redis down: wait and retry; never let the thread die
                self.batch_failures += 1
                INGEST_BATCH_FAILURES.inc()
                log.warning("ingest: batch of %d failed (%s); retrying in %.1fs, not acked",
                            len(batch), exc, delay)
            else:
                retry = [m for m, o in zip(batch, outcomes, strict=True) if o.status == "retry"]
                self._ack([m for m, o in zip(batch, outcomes, strict=True)
                           if o.status != "retry"])
                if retry:
                    self.deferred += len(retry)
                    INGEST_DEFERRED.inc(len(retry))
                batch = retry
                if not batch:
                    break
            self.retrying.set()
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, 5.0)
        self.retrying.clear()

    def _ack(self, messages: list[Incoming]) -> None:
        if not self.hold_acks:  # paho acknowledged each message on receipt
            return
        n = 0
        for msg in messages:
            # A message of an older connection is not acked: the broker redelivers it on the
            # resumed session, and the seq check drops the copy.
            if msg.qos > 0 and msg.generation == self.generation:
                self.client.ack(msg.mid, msg.qos)
                n += 1
        self.acked += n
        INGEST_ACKED.inc(n)

    def _publish_rejection(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=0)

    # ----------------------------------------------------------------- lifecycle
    def start(self, timeout_s: float = 10.0) -> bool:
        try:
            self.ingest.state.warm_up()
        except Exception as exc:  # Redis may come later: the worker retries each batch
            log.warning("ingest: Redis not ready at start (%s)", exc)
        self._worker.start()
        connect(self.client, self.address,
                session_expiry_s=self.session_expiry_s if self.persistent else 0,
                receive_maximum=self.receive_maximum)
        return self.subscribed.wait(timeout_s)

    def stop(self) -> None:
        self._stop.set()
        self.client.disconnect()
        self.client.loop_stop()
        self._worker.join(timeout=5)
