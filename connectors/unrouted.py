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
availability the newer message supersedes it; nothing is applied out of order).

On MQTT 3.1.1 a PUBACK carries no reason code: nothing changes there.
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


class RedeliveringClient(mqtt.Client):
    """A paho client whose QoS >= 1 messages are published again while nobody subscribes."""

    def __init__(self, *args: Any, max_waiting: int = 10_000, give_up_s: float = 3600.0,
                 first_delay_s: float = 0.25, max_delay_s: float = 5.0,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_waiting, self.give_up_s = max_waiting, give_up_s
        self.first_delay_s, self.max_delay_s = first_delay_s, max_delay_s
        self.retried = 0
        self.dropped = 0
        # (due monotonic s, tie-breaker, message); guarded by _cond
        self._due: list[tuple[float, int, Unrouted]] = []
        self._ties = itertools.count()
        # (topic, payload) -> the message being published again, to know its attempt and age
        # on the next 0x10. Keyed by content, not mid: it is entered before the publish, so
        # a PUBACK that comes back at once still finds it.
        self._retrying: dict[tuple[str, bytes], Unrouted] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._retry_thread: threading.Thread | None = None
        self.on_publish = self._note_puback  # not "_on_publish": paho keeps its callback there

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._due)

    def _note_puback(self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode,
                    props: Properties | None) -> None:
        """Network thread, inside paho's lock on its outgoing messages: note and return."""
        unrouted = getattr(reason, "value", 0) == NO_MATCHING_SUBSCRIBERS
        if not unrouted and not self._retrying:
            return
        # paho calls on_publish before it forgets the message: it is still in _out_messages
        # (paho 2.x, pinned <3 in pyproject.toml; tests/connectors/test_unrouted.py and
        # tests/faults/test_ingest_outages.py fail if that changes).
        sent = self._out_messages.get(mid)
        if sent is None:
            return
        key = (sent.topic, bytes(sent.payload))
        with self._cond:
            earlier = self._retrying.pop(key, None)
        if not unrouted:
            return
        now = time.monotonic()
        message = Unrouted(key[0], key[1], sent.qos, bool(sent.retain),
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
            self.publish(message.topic, message.payload, qos=message.qos,
                         retain=message.retain)

    def _handle_connack(self) -> MQTTErrorCode:
        """paho marks the client connected, runs on_connect, then re-sends what was in flight.
        A publish from another thread in between went out *before* that backlog, so one
        resource's older messages arrived after a newer one and were refused as stale (seen:
        36 of 290 after a broker restart). Holding paho's (re-entrant) outgoing-message lock
        for the whole CONNACK keeps the order; paho takes the same lock in the same order."""
        with self._out_message_mutex:
            return super()._handle_connack()  # type: ignore[misc]

    def close_redelivery(self) -> None:
        """Stop the retry thread (``disconnect`` does it too); what still waits is dropped."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def disconnect(self, *args: Any, **kwargs: Any) -> MQTTErrorCode:
        self.close_redelivery()
        return super().disconnect(*args, **kwargs)
