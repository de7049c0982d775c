"""A simulated factory edge gateway: what a real one publishes, at a configurable rate.

Per resource it publishes a retained ``state`` every tick (a small Markov chain over idle,
running and down, with breakdowns and repairs, and a smoothed utilization), a retained
``availability`` (idle windows: the day shift 08:00-20:00 China time for the next days, minus
hours the factory keeps for its own work), and runs each work order as the plan says: not
before its booked start, one lot at a time per machine, never more pieces than the input the
platform reports delivered (``input_ready``) and those only once they are at the factory
(``input_at``: the upstream finish plus the haul), at the pace the booking implies give or
take (early and late finishes), with a little scrap, reported in ``progress`` messages (QoS 1).
The gateway's ``status`` is retained, and its Last Will says ``online: false``.

``seq`` is one counter per gateway seeded from the clock in milliseconds, so it keeps
increasing across restarts. The status topic needs care: the Will is registered before the
connection and the ``online`` message is sent after it, so both seqs are reserved before each
connection (online first, Will second): a later Will always beats its own ``online``, and the
next connection's ``online`` beats the old Will.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from connectors.mqtt import BrokerAddress, connect, new_client
from connectors.payloads import (
    AvailabilityPayload,
    GatewayStatusPayload,
    ProgressPayload,
    StatePayload,
    WorkOrderPayload,
    encode,
)
from connectors.topics import Kind, gateway_status_topic, parse_topic, resource_topic
from domain.schemas import WindowIn

log = logging.getLogger(__name__)

CHINA = timedelta(hours=8)  # the demo parks are in China: shifts are in UTC+8
SESSION_EXPIRY_S = 3600  # the broker keeps a vanished gateway's work orders this long


@dataclass
class _Machine:
    resource: str
    status: str = "idle"
    utilization: float = 0.0


@dataclass
class _Job:
    """A work order as the shop floor runs it: not before its booked start, not beyond the
    input at the factory, at its own pace (``pace`` > 1 is slower than booked: late)."""

    booking: str
    resource: str
    quantity: int
    start: datetime
    end: datetime
    input_ready: int | None = None  # pieces at the factory; None: the input is on hand
    pace: float = 1.0
    done: int = 0
    scrap: int = 0
    worked_s: float = 0.0
    # Input delivered upstream but still on the road: (pieces in all, when they arrive).
    incoming: tuple[int, datetime] | None = None
    piece_s: float = 0.0

    def deliver(self, ready: int | None, at: datetime | None, now: datetime) -> None:
        """The platform says ``ready`` input pieces are delivered, at the factory by ``at``."""
        if ready is None:
            self.input_ready, self.incoming = None, None
        elif at is None or at <= now:
            self.input_ready, self.incoming = ready, None
        else:
            if self.input_ready is None:
                self.input_ready = 0
            self.incoming = (ready, at)

    def unload(self, now: datetime) -> None:
        """Input on the road that has arrived by ``now`` becomes usable."""
        if self.incoming is not None and self.incoming[1] <= now:
            self.input_ready, self.incoming = self.incoming[0], None

    def cap(self) -> int:
        """Pieces this lot may have gone through so far: good output never exceeds input."""
        return self.quantity if self.input_ready is None else min(self.quantity,
                                                                  self.input_ready)

    def seconds_per_piece(self) -> float:
        """The machine's pace, fixed when the work order came (a cut does not change it)."""
        if not self.piece_s:
            booked = (self.end - self.start).total_seconds()
            self.piece_s = max(1e-3, booked * self.pace / max(1, self.quantity))
        return self.piece_s


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Transition probabilities per tick, and how lots progress.

    Lots run on the gateway's clock at the pace their booking implies: a 2-day booking
    takes about 2 days (``pace_min``..``pace_max`` of it: early and late finishes).
    """

    start_p: float = 0.3  # idle -> running (own work)
    finish_p: float = 0.15  # running -> idle
    breakdown_p: float = 0.01  # idle/running -> down
    repair_p: float = 0.2  # down -> idle
    scrap_rate: float = 0.02
    availability_every: int = 300  # ticks between availability republishes
    days_ahead: int = 3
    pace_min: float = 0.9
    pace_max: float = 1.15
    # Shop-floor seconds worked per clock second: 1 is faithful; tests and fast demos raise it
    # (lots still start no earlier than their booked start on the clock).
    time_scale: float = 1.0


class SimulatedGateway:
    """One factory's gateway; ``start()`` runs it on a background thread."""

    def __init__(self, address: BrokerAddress, park: str, factory: str,
                 resources: list[str], *, rate_hz: float = 1.0, seed: int = 0,
                 behaviour: Behaviour = Behaviour(),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.address, self.park, self.factory = address, park, factory
        self.machines = {r: _Machine(r) for r in resources}
        self.rate_hz = rate_hz
        self.behaviour = behaviour
        self.clock = clock
        self.rng = random.Random(seed)
        self.jobs: list[_Job] = []
        self._finished: set[str] = set()
        self._held_down: set[str] = set()
        self._last_tick: datetime | None = None
        self._inbox: deque[WorkOrderPayload] = deque(maxlen=10_000)
        self._seq = int(time.time() * 1000)
        self._seq_lock = threading.Lock()
        self._online_seq = 0
        self.ticks = 0
        self.work_orders_received = 0
        # One stable client id per factory and a persistent session: QoS 1 work orders sent
        # while the gateway is away wait in the broker instead of being lost.
        self.client = new_client(address, f"gw-{park}-{factory}", persistent=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.subscribed = threading.Event()
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._reserve_status_seqs()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"gw-{factory}", daemon=True)

    # ---------------------------------------------------------------- seq and Will
    def _next_seq(self) -> int:
        with self._seq_lock:
            self._seq += 1
            return self._seq

    def _reserve_status_seqs(self) -> None:
        self._online_seq = self._next_seq()
        will = GatewayStatusPayload(ts=self.clock(), seq=self._next_seq(), online=False)
        self.client.will_set(gateway_status_topic(self.park, self.factory), encode(will),
                             qos=1, retain=True)

    # ---------------------------------------------------------------- paho callbacks
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason: ReasonCode, props: Properties | None) -> None:
        if reason.is_failure:
            return
        online = GatewayStatusPayload(ts=self.clock(), seq=self._online_seq, online=True)
        client.publish(gateway_status_topic(self.park, self.factory), encode(online), qos=1,
                       retain=True)
        # One exact filter per resource: cheaper for the broker than a wildcard, and amqtt's
        # "+" matching delivers other kinds too.
        client.subscribe([(resource_topic(self.park, self.factory, rid, Kind.WORK_ORDERS), 1)
                          for rid in self.machines])

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reasons: list[ReasonCode], props: Properties | None) -> None:
        self.subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any,
                       reason: ReasonCode, props: Properties | None) -> None:
        if not self._stop.is_set():
            self._reserve_status_seqs()  # the next connection carries a fresh Will

    def _on_message(self, client: mqtt.Client, userdata: Any,
                    message: mqtt.MQTTMessage) -> None:
        try:
            ref = parse_topic(message.topic)
            if ref.kind is not Kind.WORK_ORDERS:
                return
            order = WorkOrderPayload.model_validate_json(message.payload)
        except ValueError as exc:
            log.warning("gateway %s: bad work order on %s: %s", self.factory, message.topic, exc)
            return
        if ref.resource in self.machines:
            self._inbox.append(order)

    # ---------------------------------------------------------------- simulation
    def windows(self, now: datetime) -> list[WindowIn]:
        """Day shifts 08:00-20:00 UTC+8 for the next days, minus hours kept for own work."""
        local_midnight = (now + CHINA).replace(hour=0, minute=0, second=0, microsecond=0) - CHINA
        out = []
        for day in range(self.behaviour.days_ahead + 1):
            start = local_midnight + timedelta(days=day, hours=8)
            end = start + timedelta(hours=12)
            own = self.rng.choice([0, 0, 2, 4])  # hours of own work at the shift's start
            start += timedelta(hours=own)
            start = max(start, now.replace(microsecond=0))
            if end - start >= timedelta(hours=1):
                out.append(WindowIn(start=start, end=end))
        return out

    def publish_availability(self) -> None:
        now = self.clock()
        for rid in self.machines:
            payload = AvailabilityPayload(ts=now, seq=self._next_seq(), windows=self.windows(now))
            self.client.publish(resource_topic(self.park, self.factory, rid, Kind.AVAILABILITY),
                                encode(payload), qos=1, retain=True)

    def _step_machine(self, m: _Machine, busy: bool) -> None:
        b, r = self.behaviour, self.rng.random()
        if m.resource in self._held_down:
            m.status = "down"
        elif m.status == "down":
            if r < b.repair_p:
                m.status = "idle"
        elif r < b.breakdown_p:
            m.status = "down"
        elif busy or (m.status == "idle" and r < b.start_p):
            m.status = "running"
        elif m.status == "running" and r < b.finish_p:
            m.status = "idle"
        m.utilization = round(0.9 * m.utilization + 0.1 * (m.status == "running"), 3)

    def tick(self) -> None:
        """One step: take new work orders, advance lots, publish state and progress."""
        now = self.clock()
        while self._inbox:
            self._take(self._inbox.popleft(), now)
        elapsed = 0.0 if self._last_tick is None else (now - self._last_tick).total_seconds()
        self._last_tick = now
        working = {}
        for job in self.jobs:
            job.unload(now)
        for job in sorted(self.jobs, key=lambda j: (j.start, j.booking)):
            # One lot at a time per machine, the earliest booked first, not before its slot.
            if job.resource not in working and job.start <= now:
                working[job.resource] = job
        for m in self.machines.values():
            lot = working.get(m.resource)
            self._step_machine(m, lot is not None and lot.done + lot.scrap < lot.cap())
        for job in working.values():
            if self.machines[job.resource].status != "running":
                continue  # a broken machine makes no progress
            self._advance(job, now, elapsed)
        if self.ticks % self.behaviour.availability_every == 0:
            self.publish_availability()
        for m in self.machines.values():
            state = StatePayload(ts=now, seq=self._next_seq(), status=m.status,  # type: ignore[arg-type]
                                 utilization=m.utilization)
            self.client.publish(resource_topic(self.park, self.factory, m.resource, Kind.STATE),
                                encode(state), qos=0, retain=True)
        self.ticks += 1

    def _take(self, wo: WorkOrderPayload, now: datetime) -> None:
        """A new work order, or an update of one (input delivered, cut, or withdrawn)."""
        self.work_orders_received += 1
        known = next((j for j in self.jobs if j.booking == wo.booking), None)
        if wo.cancelled or wo.quantity == 0:
            if known is not None:
                self.jobs.remove(known)
            return
        if known is not None:
            known.deliver(wo.input_ready, wo.input_at, now)
            known.quantity = wo.quantity  # a cut lot (overrunning) makes fewer pieces
            if known.done + known.scrap >= known.quantity:
                self.jobs.remove(known)
                self._finished.add(known.booking)
            return
        if wo.booking in self._finished:
            return  # a redelivered work order of a lot already made
        pace = self.rng.uniform(self.behaviour.pace_min, self.behaviour.pace_max)
        job = _Job(wo.booking, wo.resource, wo.quantity, wo.start, wo.end, pace=pace)
        job.seconds_per_piece()
        job.deliver(wo.input_ready, wo.input_at, now)
        self.jobs.append(job)

    def break_down(self, resource: str) -> None:
        """The machine stops and stays down until ``repair`` (tests, demos, operators)."""
        self.machines[resource].status = "down"
        self._held_down.add(resource)

    def repair(self, resource: str) -> None:
        self._held_down.discard(resource)
        self.machines[resource].status = "idle"

    def _advance(self, job: _Job, now: datetime, elapsed: float) -> None:
        """Make the pieces the time worked allows, up to the input delivered."""
        job.worked_s += elapsed * self.behaviour.time_scale
        target = min(job.cap(), int(job.worked_s / job.seconds_per_piece()))
        pieces = target - job.done - job.scrap
        if pieces <= 0:
            return
        scrap = sum(self.rng.random() < self.behaviour.scrap_rate for _ in range(pieces))
        job.scrap += scrap
        job.done += pieces - scrap
        progress = ProgressPayload(ts=now, seq=self._next_seq(), booking=job.booking,
                                   done=job.done, scrap=job.scrap)
        self.client.publish(resource_topic(self.park, self.factory, job.resource, Kind.PROGRESS),
                            encode(progress), qos=1)
        if job.done + job.scrap >= job.quantity:
            self.jobs.remove(job)
            self._finished.add(job.booking)

    # ---------------------------------------------------------------- lifecycle
    def _run(self) -> None:
        period = 1.0 / self.rate_hz
        next_at = time.monotonic()
        while not self._stop.is_set():
            if self.client.is_connected():
                try:
                    self.tick()
                except Exception:  # the simulation must keep going
                    log.exception("gateway %s: tick failed", self.factory)
            next_at += period
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def start(self, timeout_s: float = 10.0) -> bool:
        """Connect and wait until subscribed to the work orders (then start ticking)."""
        connect(self.client, self.address, session_expiry_s=SESSION_EXPIRY_S)
        ok = self.subscribed.wait(timeout_s)
        self._thread.start()
        return ok

    def stop(self) -> None:
        """Graceful: say offline (retained), then disconnect (the broker drops the Will)."""
        self._stop.set()
        self._thread.join(timeout=5)
        if self.client.is_connected():
            offline = GatewayStatusPayload(ts=self.clock(), seq=self._next_seq(), online=False)
            info = self.client.publish(gateway_status_topic(self.park, self.factory),
                                       encode(offline), qos=1, retain=True)
            with contextlib.suppress(RuntimeError):
                info.wait_for_publish(timeout=2)
        self.client.disconnect()
        self.client.loop_stop()

    def crash(self) -> None:
        """Vanish without DISCONNECT, as a gateway losing power: the broker sends the Will."""
        self._stop.set()
        self._thread.join(timeout=5)
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.client.loop_stop()
