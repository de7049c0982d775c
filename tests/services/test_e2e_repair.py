"""End to end over the real Mosquitto, Redis and PostgreSQL: a breakdown repaired.

A 3-step order (milling at F1 -> anodizing at F2 -> polishing at F1) is accepted; simulated
gateways run the work orders on a clock 180x faster than the wall. The anodizing machine goes
``down`` before its lot starts; the ingest worker that gets the state message repairs the
order onto F3's anodizing line, the new work orders go out, and the order completes with
every piece. The ingest runs as two OS processes (``sharefab worker ingest --park``) sharing
one MQTT 5 subscription; the API (in-test), both of them and the gateways share one simulated
clock through the settings ``SHAREFAB_CLOCK_EPOCH`` / ``SHAREFAB_CLOCK_SPEED``
(``services.core.clock``): a function of the wall clock that every process computes alike.

The checks at the end import nothing from scheduling/ or matching/: from the stored bookings
and the progress messages seen on the broker they find no resource over capacity at any
moment, no lot making more good pieces than its input delivered so far (and hauled to its
factory: the upstream finish plus the truck, by the published transport rule, computed here
on its own), no lot before its booked start, and the story of the order's events in order.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from connectors.dispatch import Dispatcher
from connectors.gateway import Behaviour, SimulatedGateway
from connectors.mqtt import BrokerAddress, Publisher
from services.api.app import create_app
from services.bookings.dispatch import work_order_fields
from services.core.clock import AcceleratedClock, platform_clock
from services.core.db import scratch_schema
from services.core.settings import Settings
from services.live.redis_store import make_live_store
from services.workers import heartbeat
from services.workers.ingest import DbDirectory
from tests.services import builders as b
from tests.services.auth_helpers import as_platform

pytestmark = [pytest.mark.mosquitto, pytest.mark.redis, pytest.mark.slow]

SCALE = 180.0  # simulated seconds per wall second
# A 2 s re-plan is 6 simulated minutes of ingest delay at this scale, and a loaded machine
# stalls the gateways' threads for many more: this test is about the breakdown, so lots are
# judged overrunning only a day late and resources offline only after a day of silence
# (test_overrun_repair tests those paths on their own).
GRACE_S = 86_400.0
QUANTITY = 20
INGEST_PROCESSES = 2


@dataclass
class Seen:
    """A progress message as the broker carried it."""

    ts: datetime
    booking: str
    done: int
    scrap: int


class ProgressTap:
    """An independent MQTT subscriber recording every progress message of the park."""

    def __init__(self, address: BrokerAddress, park: str) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"tap-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        self.client.connect(address.host, address.port)
        self.client.subscribe(f"sharefab/v1/{park}/+/+/progress", qos=1)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        body = json.loads(message.payload)
        with self._lock:
            self.seen.append(Seen(datetime.fromisoformat(body["ts"]), body["booking"],
                                  body["done"], body["scrap"]))

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _market(park: str, t0: datetime) -> list[dict[str, Any]]:
    """F1 mills and polishes, F2 anodizes cheaply, F3 anodizes dearly (the way out)."""
    window = [{"start": b.format_utc(t0), "end": b.format_utc(t0 + timedelta(days=2))}]

    def machine(rid: str, process: str, price: float) -> dict[str, Any]:
        r = b.resource(rid, process=process)
        r["windows"], r["pricing"]["time_share_per_hour"] = window, price
        return r

    return [
        b.factory("F1", park=park, resources=[machine("M1", "machining.cnc_milling", 100),
                                              machine("M4", "surface.polishing", 100)]),
        b.factory("F2", park=park, lon=120.62, resources=[
            machine("M2", "surface.anodizing", 100)]),
        b.factory("F3", park=park, lon=120.64, resources=[
            machine("M3", "surface.anodizing", 400)]),
    ]


def _worker_env(url: str, redis_url: str, mqtt_url: str, prefix: str, group: str,
                clock: AcceleratedClock) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAREFAB_")}
    env.update(SHAREFAB_DATABASE_URL=url, SHAREFAB_REDIS_URL=redis_url,
               SHAREFAB_MQTT_URL=mqtt_url, SHAREFAB_ENVIRONMENT="test",
               SHAREFAB_REDIS_KEY_PREFIX=prefix, SHAREFAB_MQTT_SHARE_GROUP=group,
               SHAREFAB_OVERRUN_GRACE_S=str(GRACE_S), SHAREFAB_OFFLINE_GRACE_S=str(GRACE_S),
               # a beat every 0.5 s: the test sees both workers subscribed without waiting 5 s
               SHAREFAB_WORKER_HEARTBEAT_TTL_S="1.5", **clock.env())
    return env


class IngestProcesses:
    """``sharefab worker ingest --park PARK`` x N, each an OS process with its own log."""

    def __init__(self, env: dict[str, str], park: str, logs: Path, n: int) -> None:
        exe = Path(sys.executable).with_name("sharefab")
        self.logs = [logs / f"ingest{i}.log" for i in range(n)]
        self.procs = []
        for path in self.logs:
            with path.open("wb") as out:
                self.procs.append(subprocess.Popen(
                    [str(exe), "worker", "ingest", "--park", park, "--log-level", "INFO"],
                    env=env, stdout=out, stderr=subprocess.STDOUT))

    def check_alive(self) -> None:
        for proc, path in zip(self.procs, self.logs, strict=True):
            if proc.poll() is not None:
                raise AssertionError(f"ingest process exited with {proc.returncode}:\n"
                                     f"{self.tail(path)}")

    @staticmethod
    def tail(path: Path, lines: int = 30) -> str:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def platform(postgres_url: str, redis_url: str, mqtt_url: str,
             tmp_path: Path) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:8]
    park = f"P{tag}"
    epoch = datetime.now(UTC)
    address = BrokerAddress.from_url(mqtt_url, mqtt5=True)
    with scratch_schema(postgres_url, prefix="t_e2e") as url:
        settings = Settings(database_url=url, environment="test", mqtt_enabled=False,
                            match_in_process=False, redis_url=redis_url,
                            redis_key_prefix=f"t{tag}:", quote_default_time_limit_s=2.0,
                            clock_epoch=epoch, clock_speed=SCALE, overrun_grace_s=GRACE_S,
                            offline_grace_s=GRACE_S)
        clock = platform_clock(settings)  # what every process computes from the same settings
        assert isinstance(clock, AcceleratedClock)
        stop: list[Any] = []
        live = make_live_store(settings)
        try:
            # Two ingest processes, one shared subscription (of this park only), started
            # first: they import while the schema migrates (they touch the database at their
            # first message, once the gateways publish).
            workers = IngestProcesses(_worker_env(url, redis_url, mqtt_url,
                                                  settings.redis_key_prefix, f"g{tag}", clock),
                                      park, tmp_path, INGEST_PROCESSES)
            stop.append(workers.stop)
            app = create_app(settings, live=live)  # its clock: platform_clock(settings)
            with TestClient(app) as client:
                as_platform(client)
                assert client.post("/parks", json={"id": park, "name": park,
                                                   "city": ""}).status_code == 201
                t0 = epoch.replace(second=0, microsecond=0)
                for f in _market(park, t0):
                    answer = client.post("/factories", json=f)
                    assert answer.status_code == 201, answer.text
                sf = app.state.session_factory
                publisher = Publisher(address)
                assert publisher.start(10)
                stop.append(publisher.stop)
                app.state.dispatcher = Dispatcher(publisher, DbDirectory(sf), work_order_fields)
                redis_client = live.state.redis

                def subscribed() -> bool:
                    try:
                        alive = heartbeat.alive(redis_client, settings.redis_key_prefix)
                    except redis.RedisError:  # a read slower than 1 s on a loaded box:
                        return False  # ask again, as /readyz's caller would
                    return alive["ingest"] == INGEST_PROCESSES

                _wait(subscribed, 120, "both ingest processes subscribed",
                      workers)  # 120 s: two processes importing on a busy box
                tap = ProgressTap(address, park)
                stop.append(tap.stop)
                gateways = {}
                behaviour = Behaviour(breakdown_p=0.0, start_p=0.0, repair_p=0.0,
                                      scrap_rate=0.0, availability_every=10**9)
                for i, (fid, rids) in enumerate([("F1", ["M1", "M4"]), ("F2", ["M2"]),
                                                 ("F3", ["M3"])]):
                    gw = SimulatedGateway(address, park, fid, rids, rate_hz=5, seed=i,
                                          behaviour=behaviour, clock=clock)
                    gw.publish_availability = lambda: None  # type: ignore[method-assign]
                    assert gw.start()
                    stop.append(gw.stop)
                    gateways[fid] = gw
                yield {"client": client, "gateways": gateways, "tap": tap, "url": url,
                       "workers": workers, "clock": clock, "t0": t0}
        finally:
            for fn in reversed(stop):
                fn()
            _clear(live.state)


def _clear(state: Any) -> None:
    """Drop this test's Redis keys; a read timing out under load is tried again."""
    for attempt in range(3):
        try:
            state.clear()
            return
        except redis.RedisError:
            if attempt == 2:
                raise
            time.sleep(1)


def _bookings(client: TestClient) -> list[dict[str, Any]]:
    answer = client.get("/bookings", params={"order": "O1"})
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


def _wait(predicate: Any, timeout_s: float, what: str,
          workers: IngestProcesses | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if workers is not None:
            workers.check_alive()  # a crashed worker fails at once, with its log
        if predicate():
            return
        time.sleep(0.2)
    logs = "" if workers is None else "\n".join(
        f"--- {p.name}\n{workers.tail(p)}" for p in workers.logs)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


@pytest.mark.timeout(300)
def test_e2e__machine_down_before_its_step_is_repaired_and_the_order_completes(platform):
    client, gateways, tap = platform["client"], platform["gateways"], platform["tap"]
    workers: IngestProcesses = platform["workers"]
    order = b.order("O1", quantity=QUANTITY, min_lot=QUANTITY, max_factories=3,
                    due=b.format_utc(platform["t0"] + timedelta(days=1)), steps=[
                        b.step("s1", "machining.cnc_milling", 0.5),
                        b.step("s2", "surface.anodizing", 0.5, after=["s1"]),
                        b.step("s3", "surface.polishing", 0.5, after=["s2"])])
    assert client.post("/orders", json=order).status_code == 201
    quotes = client.post("/orders/O1/quotes", params={"time_limit_s": 2.0}).json()
    cheapest = next(q for q in quotes if q["kind"] == "cheapest")
    where = {a["step"]: a["resource"] for a in cheapest["plan"]["allocations"]}
    assert where == {"s1": "M1", "s2": "M2", "s3": "M4"}, where  # two factories: F1, F2
    assert client.post(f"/quotes/{cheapest['id']}/accept").status_code == 201

    s1 = next(x for x in _bookings(client) if x["step"] == "s1")
    _wait(lambda: client.get(f"/bookings/{s1['id']}").json()["status"] == "running", 60,
          "the first step to start", workers)
    gateways["F2"].break_down("M2")  # before its lot (waiting for s1's pieces) starts
    _wait(lambda: any(x["resource"] == "M3" and x["status"] != "cancelled"
                      for x in _bookings(client)), 60, "the repair onto M3", workers)
    _wait(lambda: client.get("/orders/O1").json()["status"] == "done", 180, "the order",
          workers)

    rows = _bookings(client)
    good: defaultdict[str, int] = defaultdict(int)
    for x in rows:
        good[x["step"]] += x["done"]
    assert dict(good) == {"s1": QUANTITY, "s2": QUANTITY, "s3": QUANTITY}
    m2 = [x for x in rows if x["resource"] == "M2"]
    assert [(x["status"], x["done"]) for x in m2] == [("cancelled", 0)]
    _check_independently(platform["url"], rows, tap.seen)
    _check_story(client.get("/orders/O1/events").json(), m2[0]["id"])
    # Both ingest processes applied shop-floor facts of the order: each logged events of it
    # (the log line of an event is written after its commit, by the process that made it).
    workers.stop()
    lines = [p.read_text(errors="replace").count("order O1: ") for p in workers.logs]
    assert all(n > 0 for n in lines), lines


SITES = {"F1": (31.3, 120.6), "F2": (31.3, 120.62), "F3": (31.3, 120.64)}


def _haul(a: str, b: str) -> timedelta:
    """docs/formats.md's transport rule with the default terms: 30 min handling plus the
    road (1.3 x great circle) at 40 km/h; nothing on the same site."""
    if a == b:
        return timedelta(0)
    (lat1, lon1), (lat2, lon2) = SITES[a], SITES[b]
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    km = round(2 * 6371.0088 * math.asin(math.sqrt(h)) * 1.3, 1)
    return timedelta(minutes=30 + math.ceil(km / 40 * 60))


def _check_independently(url: str, rows: list[dict[str, Any]], seen: list[Seen]) -> None:
    """No resource over capacity, no lot early, no good output beyond the input delivered
    and arrived."""
    engine = create_engine(url)
    with engine.connect() as conn:
        capacity: dict[str, int] = dict(
            conn.execute(text("SELECT id, capacity FROM resources")).all())
    engine.dispose()
    held = defaultdict(list)
    for x in rows:
        if x["status"] != "cancelled" or x["done"] or x["scrap"]:
            held[x["resource"]].append((x["start"], x["end"]))
    for rid, spans in held.items():
        edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
        running = peak = 0
        for _, d in edges:
            running += d
            peak = max(peak, running)
        assert peak <= capacity[rid], (rid, spans)
    by_id = {x["id"]: x for x in rows}
    step_of = {x["id"]: x["step"] for x in rows}
    upstream = {"s2": "s1", "s3": "s2"}
    finished_at: dict[str, datetime] = {}
    last: dict[str, Seen] = {}
    for msg in sorted(seen, key=lambda m: m.ts):
        lot = by_id.get(msg.booking)
        if lot is None:
            continue
        start = datetime.fromisoformat(lot["start"].replace("Z", "+00:00"))
        assert msg.ts >= start, f"lot {msg.booking} worked before its booked start"
        last[msg.booking] = msg
        if msg.done + msg.scrap >= lot["quantity"]:
            finished_at.setdefault(msg.booking, msg.ts)
        step = step_of[msg.booking]
        if step in upstream:  # pieces through this step so far <= pieces delivered to it
            made = sum(m.done + m.scrap for k, m in last.items() if step_of[k] == step)
            here = lot["factory"]
            delivered = sum(last[k].done for k, t in finished_at.items()
                            if step_of[k] == upstream[step]
                            and t + _haul(by_id[k]["factory"], here) <= msg.ts)
            assert made <= delivered, (msg, made, delivered)


def _check_story(events: list[dict[str, Any]], m2_booking: str) -> None:
    """The order's history as GET /orders/{id}/events tells it (written by three processes)."""
    story = [(e["type"], e["details"]) for e in events]
    kinds = [k for k, _ in story]
    repaired = kinds.index("repaired")
    assert kinds[:5] == ["quoted", "accepted"] + ["work_order_sent"] * 3
    assert "started" in kinds[:repaired]  # s1 ran before the breakdown
    details = story[repaired][1]
    assert details["planned"] is True
    assert "M2 down" in details["cause"]
    assert any(r["booking"] == m2_booking for r in details["released"])
    assert {x["resource"] for x in details["booked"]} >= {"M3"}
    assert kinds[-2:] == ["completed", "done"]  # the last lot, then the order
    assert kinds.count("completed") == 3
    # Every process stamps events with the one platform clock: the order's milestones are in
    # time order (a wall-clock stamp would fall hours of simulated time behind).
    milestones = [(e["type"], e["time"]) for e in events
                  if e["type"] in ("quoted", "accepted", "in_production", "repaired", "done")]
    assert [k for k, _ in milestones] == ["quoted", "accepted", "in_production", "repaired",
                                          "done"], milestones
    assert [t for _, t in milestones] == sorted(t for _, t in milestones), milestones
    # Progress is ordered per booking, whichever process applied it: counts never go back.
    counts: defaultdict[str, list[int]] = defaultdict(list)
    for kind, d in story:
        if kind in ("progress", "completed"):
            counts[d["booking"]].append(d["done"] + d["scrap"])
    assert all(c == sorted(c) for c in counts.values()), dict(counts)
