"""Publish again what the broker had no subscriber for: a broker restart loses nothing.

Mosquitto (2.0.11 here) saves persistent sessions and their queued messages over a restart,
but not the *shared* subscriptions inside them (measured: after a restart the ingest's
session is "present" yet ``$share/ingest/...`` routes nothing until the ingest subscribes
again). A gateway that reconnects before the ingest workers would publish into the void, and
the broker would still acknowledge every message. MQTT 5 says so in the PUBACK: reason code
0x10 "No matching subscribers" (Mosquitto sends it). This client keeps such a QoS >= 1
message and publishes it again with backoff until a subscriber takes it, so "acknowledged by
the broker" means "routed to a session". Bounded: at most ``max_waiting`` messages wait, and
one that found nobody for ``give_up_s`` is dropped; both are counted (``dropped``, and
``sharefab_mqtt_unrouted_*`` in Prometheus). A message published again may arrive after a
newer one on its topic; the ingest's seq check then refuses it as stale (for state and
availability the newer message supersedes it; nothing is applied out of order). It goes out
unretained: the broker's retained copy is the first publish's, or a newer one's.

On MQTT 3.1.1 a PUBACK carries no reason code: nothing changes there.

Order over a reconnect: paho marks the client connected, runs ``on_connect``, then re-sends
what was in flight. A publish from another thread in between went out *before* that backlog,
so one resource's older messages arrived after a newer one and were refused as stale (seen: 36
of 290 after a broker restart). From a lost connection until the messages in flight at the
reconnect are acknowledged (or ``resend_wait_s`` passed), new messages are held here, in order,
and published after them (``held``; bounded like paho's queue).

Only paho's public API: the callbacks, ``publish`` and the ``MQTTMessageInfo`` it returns. The
client keeps its own record of each QoS >= 1 message by mid (topic, payload, for the 0x10
retry) until its PUBACK; a PUBACK that beats ``publish``'s return is matched when it returns.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from prometheus_client import Counter

log = logging.getLogger(__name__)

NO_MATCHING_SUBSCRIBERS = 0x10

UNROUTED_RETRIED = Counter("sharefab_mqtt_unrouted_retried",
                           "QoS 1 messages published again after 'no matching subscribers'")
UNROUTED_DROPPED = Counter("sharefab_mqtt_unrouted_dropped",
                           "QoS 1 messages given up after finding no subscriber (bounded wait)")


@dataclass(frozen=True, slots=True)
class Unrouted:
    """A message the broker had nobody for, and since when."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    first_s: float
    attempt: int


class HeldInfo(mqtt.MQTTMessageInfo):
    """What ``publish`` returns for a message held over a reconnect: ``rc`` 0 (queued, as
    paho says for a message it queues), and once published the real message's mid, result
    and ``wait_for_publish``."""

    def __init__(self) -> None:
        super().__init__(0)
        self.rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        self._sent = threading.Event()
        self._real: mqtt.MQTTMessageInfo | None = None

    def attach(self, real: mqtt.MQTTMessageInfo) -> None:
        self._real, self.mid, self.rc = real, real.mid, real.rc
        self._sent.set()

    def is_published(self) -> bool:
        return self._real is not None and self._real.is_published()

    def wait_for_publish(self, timeout: float | None = None) -> None:
        started = time.monotonic()
        if not self._sent.wait(timeout):
            return  # like paho's: returns at the timeout; is_published() says no
        assert self._real is not None
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
        self._real.wait_for_publish(left)


@dataclass(frozen=True, slots=True)
class Held:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: Properties | None
    info: HeldInfo


class RedeliveringClient(mqtt.Client):
    """A paho client whose QoS >= 1 messages are published again while nobody subscribes,
    and keep their order over a reconnect."""

    def __init__(self, *args: Any, max_waiting: int = 10_000, give_up_s: float = 3600.0,
                 first_delay_s: float = 0.25, max_delay_s: float = 5.0,
                 max_held: int = 10_000, resend_wait_s: float = 10.0,
                 **kwargs: Any) -> None:
        # Before paho's __init__: it assigns on_connect / on_disconnect / on_publish itself
        # (no callback at all), which the properties below route to the user's slots.
        self._user_on_connect: Any = None
        self._user_on_disconnect: Any = None
        super().__init__(*args, **kwargs)
        self.max_waiting, self.give_up_s = max_waiting, give_up_s
        self.first_delay_s, self.max_delay_s = first_delay_s, max_delay_s
        self.max_held, self.resend_wait_s = max_held, resend_wait_s
        self.retried = 0
        self.dropped = 0
        self.held_total = 0  # messages ever held over a reconnect (a counter for tests, ops)
        # (due monotonic s, tie-breaker, message); guarded by _cond
        self._due: list[tuple[float, int, Unrouted]] = []
        self._ties = itertools.count()
        # (topic, payload) -> the message being published again, to know its attempt and age
        # on the next 0x10. Keyed by content, not mid: it is entered before the publish, so
        # a PUBACK that comes back at once still finds it.
        self._retrying: dict[tuple[str, bytes], Unrouted] = {}
        # mid -> (topic, payload, qos, retain) of every QoS >= 1 message not acknowledged yet
        self._unacked: dict[int, tuple[str, bytes, int, bool]] = {}
        # mid -> (monotonic s, reason) of PUBACKs that came before publish() returned the mid
        self._early: dict[int, tuple[float, ReasonCode | None]] = {}
        # The gate: closed from a lost connection (and before the first) until the backlog
        # (``_backlog``: mids in flight at the reconnect) is acknowledged; meanwhile publish()
        # holds messages in ``_held``.
        self._gate_open = False
        self._backlog: set[int] = set()
        self._held: list[Held] = []
        self._flushing = False
        self._connects = 0
        self._cond = threading.Condition()
        self._closed = False
        self._retry_thread: threading.Thread | None = None
        self._qos0: set[int] = set()  # QoS 0 mids published, not yet written out
        self.on_publish = self._note_puback

    # -- callbacks: the client's own hooks run first, then the user's ----------------------

    @property  # type: ignore[override]
    def on_connect(self) -> Any:
        return self._connected

    @on_connect.setter
    def on_connect(self, func: Any) -> None:
        self._user_on_connect = func

    @property  # type: ignore[override]
    def on_disconnect(self) -> Any:
        return self._disconnected

    @on_disconnect.setter
    def on_disconnect(self, func: Any) -> None:
        self._user_on_disconnect = func

    def _connected(self, client: mqtt.Client, userdata: Any, *args: Any) -> None:
        """Network thread, before paho re-sends what was in flight: note that backlog."""
        try:
            user = self._user_on_connect
            if user is not None:
                user(client, userdata, *args)
        finally:  # a failing user callback must not leave the gate shut for good
            reason = args[1] if len(args) > 1 else None
            if reason is None or not getattr(reason, "is_failure", False):
                self._note_backlog()

    def _note_backlog(self) -> None:
        with self._cond:
            self._connects += 1
            connects = self._connects
            self._backlog = set(self._unacked)
            ready = not self._backlog
        if ready:
            self._flush()
        else:
            timer = threading.Timer(self.resend_wait_s, self._give_up_backlog, (connects,))
            timer.daemon = True
            timer.start()

    def _disconnected(self, client: mqtt.Client, userdata: Any, *args: Any) -> None:
        with self._cond:
            self._gate_open = False
        user = self._user_on_disconnect
        if user is not None:
            user(client, userdata, *args)

    def _give_up_backlog(self, connects: int) -> None:
        """The backlog of that connection was not all acknowledged in ``resend_wait_s``: what
        is held goes out anyway (late is better than never)."""
        with self._cond:
            if connects != self._connects or self._gate_open:
                return
            log.warning("mqtt: %d messages in flight at the reconnect not acknowledged in "
                        "%.0f s; publishing the %d held after them", len(self._backlog),
                        self.resend_wait_s, len(self._held))
            self._backlog.clear()
        self._flush()

    def _flush(self) -> None:
        """Publish what was held, in order, then open the gate (one flusher at a time)."""
        with self._cond:
            if self._flushing:
                return
            self._flushing = True
        try:
            while True:
                with self._cond:
                    if not self._held:
                        self._gate_open = True
                        return
                    item = self._held.pop(0)
                item.info.attach(self._send(item.topic, item.payload, item.qos, item.retain,
                                            item.properties))
        finally:
            with self._cond:
                self._flushing = False

    # -- publishing ---------------------------------------------------------------------

    def publish(self, topic: str, payload: Any = None, qos: int = 0, retain: bool = False,
                properties: Properties | None = None) -> mqtt.MQTTMessageInfo:
        """paho's publish, except while the gate is closed: then held, in order (an
        ``MQTTMessageInfo`` with rc 0 comes back; a full hold answers paho's queue-full).
        QoS 0 while offline goes to paho as before (which drops it: state is superseded)."""
        with self._cond:
            hold = not self._gate_open and not self._closed and (qos > 0 or self.is_connected())
            if hold:
                if len(self._held) >= self.max_held:
                    full = mqtt.MQTTMessageInfo(0)
                    full.rc = MQTTErrorCode.MQTT_ERR_QUEUE_SIZE
                    return full
                info = HeldInfo()
                self._held.append(Held(topic, _bytes(payload), qos, retain, properties, info))
                self.held_total += 1
                return info
        return self._send(topic, payload, qos, retain, properties)

    def _send(self, topic: str, payload: Any, qos: int, retain: bool,
              properties: Properties | None = None) -> mqtt.MQTTMessageInfo:
        info = super().publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if qos == 0:
            with self._cond:  # its on_publish (written out) may have come already
                if self._early.pop(info.mid, None) is None and info.rc == 0:
                    self._qos0.add(info.mid)
            return info
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            return info
        with self._cond:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._unacked[info.mid] = (topic, _bytes(payload), qos, retain)
                return info
        self._acked((topic, _bytes(payload), qos, retain), early[1])
        return info

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._due)

    @property
    def held(self) -> int:
        with self._cond:
            return len(self._held)

    def _note_puback(self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode,
                    props: Properties | None) -> None:
        """Network thread: a QoS >= 1 message was acknowledged (QoS 0: written out)."""
        now = time.monotonic()
        with self._cond:
            sent = self._unacked.pop(mid, None)
            if sent is None and mid in self._qos0:
                self._qos0.discard(mid)
                return
            if sent is None:
                # Faster than publish()'s return (matched there when it returns). Entries
                # older than seconds cannot be that: forget them.
                self._early[mid] = (now, reason)
                if len(self._early) > 1000:
                    self._early = {m: e for m, e in self._early.items() if now - e[0] < 5.0}
                return
            last_of_backlog = mid in self._backlog and len(self._backlog) == 1
            self._backlog.discard(mid)
        self._acked(sent, reason)
        if last_of_backlog:
            self._flush()

    def _acked(self, sent: tuple[str, bytes, int, bool], reason: ReasonCode | None) -> None:
        unrouted = getattr(reason, "value", 0) == NO_MATCHING_SUBSCRIBERS
        if not unrouted and not self._retrying:
            return
        key = (sent[0], sent[1])
        with self._cond:
            earlier = self._retrying.pop(key, None)
        if not unrouted:
            return
        now = time.monotonic()
        message = Unrouted(key[0], key[1], sent[2], sent[3],
                           earlier.first_s if earlier else now,
                           earlier.attempt + 1 if earlier else 0)
        self._schedule(message, now)

    def _schedule(self, message: Unrouted, now: float) -> None:
        with self._cond:
            if self._closed:
                return
            if now - message.first_s > self.give_up_s or len(self._due) >= self.max_waiting:
                self.dropped += 1
                UNROUTED_DROPPED.inc()
                log.warning("mqtt: no subscriber for %s since %.0f s; dropped (%d waiting)",
                            message.topic, now - message.first_s, len(self._due))
                return
            delay = min(self.first_delay_s * 2 ** message.attempt, self.max_delay_s)
            heapq.heappush(self._due, (now + delay, next(self._ties), message))
            if self._retry_thread is None:
                self._retry_thread = threading.Thread(target=self._run, name="mqtt-unrouted",
                                                daemon=True)
                self._retry_thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._due
                                            or self._due[0][0] > time.monotonic()):
                    self._cond.wait(self._due[0][0] - time.monotonic() if self._due else None)
                if self._closed:
                    return
                _, _, message = heapq.heappop(self._due)
                self._retrying[(message.topic, message.payload)] = message
                self.retried += 1
            UNROUTED_RETRIED.inc()
            # Never retained again: the broker kept the first copy as its retained message
            # (with or without subscribers), and a newer one may have replaced it since; a
            # retained retry would put the older state back for every later subscriber
            # (seen: a broker-restart test's retained states back at seq 13-16 of 120).
            self.publish(message.topic, message.payload, qos=message.qos,
                         retain=False)  # held, like any, while the gate is shut

    def close_redelivery(self) -> None:
        """Stop the retry thread (``disconnect`` does it too); what still waits is dropped."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def disconnect(self, *args: Any, **kwargs: Any) -> MQTTErrorCode:
        self.close_redelivery()
        return super().disconnect(*args, **kwargs)


def _bytes(payload: Any) -> bytes:
    """The payload as paho sends it (str as UTF-8, numbers as text, None as empty)."""
    if payload is None:
        return b""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, int | float):
        return str(payload).encode("ascii")
    raise TypeError("payload must be a string, bytearray, int, float or None.")
