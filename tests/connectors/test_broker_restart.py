"""Kill Mosquitto mid-stream and restart it: the ingest reconnects, resubscribes, and no
retained state is lost (the broker persists retained messages; Redis keeps the live state).

The test starts its own ``mosquitto`` on a free port with a temporary config, so killing it
disturbs nobody else.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.broker import free_port
from connectors.directory import StaticDirectory
from connectors.ingest import Ingest
from connectors.mqtt import BrokerAddress, IngestClient, Publisher, new_client
from connectors.topics import Kind, resource_topic
from tests.conftest import IN_CI
from tests.connectors.realservers import redis_state, running_ingest, unique, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
RIDS = [f"R{i}" for i in range(5)]
LAST_SEQ = 120


@pytest.fixture
def mosquitto_binary():
    if not os.access(MOSQUITTO, os.X_OK):
        if IN_CI:
            pytest.fail(f"{MOSQUITTO} missing (CI=true: a missing server is a failure)")
        pytest.skip(f"{MOSQUITTO} is not installed")
    return MOSQUITTO


class OwnMosquitto:
    """One mosquitto process on a free port, persisting retained messages to a temp dir."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary, self.port = binary, free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text("\n".join([
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {workdir}/",
            # Save after every change: a SIGKILL then loses nothing that was acknowledged.
            "autosave_on_changes true",
            "autosave_interval 1",
            "log_dest none",
        ]) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(self._listening, 10), "mosquitto did not start"

    def _listening(self) -> bool:
        import socket
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _state(seq: int) -> bytes:
    status = "down" if seq == LAST_SEQ else ("running" if seq % 2 else "idle")
    return json.dumps({"ts": datetime.now(UTC).isoformat(), "seq": seq, "status": status,
                       "utilization": round(seq / LAST_SEQ, 3)}).encode()


def _retained(address: BrokerAddress, park: str) -> dict[str, bytes]:
    """Every retained message under the park, as a fresh subscriber sees it."""
    got: dict[str, bytes] = {}
    client = new_client(address)
    client.on_message = lambda c, u, m: got.__setitem__(m.topic, bytes(m.payload))
    client.on_connect = lambda c, u, f, r, p: c.subscribe(f"sharefab/v1/{park}/#", qos=1)
    client.connect(address.host, address.port)
    client.loop_start()
    wait_for(lambda: len(got) >= len(RIDS), 10)
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()
    return got


def test_broker_restart__ingest_reconnects_and_retained_state_survives(
        mosquitto_binary, redis_url, tmp_path):
    broker = OwnMosquitto(mosquitto_binary, tmp_path)
    broker.start()
    address = BrokerAddress("127.0.0.1", broker.port)
    park = unique("P")
    directory = StaticDirectory([(park, "F1", r) for r in RIDS])
    try:
        with redis_state(redis_url) as state, \
                running_ingest(address, state, directory, park) as ingest:
            pub = Publisher(address)
            assert pub.start()
            killed = threading.Event()

            def stream() -> None:
                for seq in range(1, LAST_SEQ + 1):
                    for rid in RIDS:
                        pub.publish(resource_topic(park, "F1", rid, Kind.STATE), _state(seq),
                                    qos=1, retain=True)
                    if seq == LAST_SEQ // 2:
                        killed.wait(10)  # the second half goes out around the restart
                    time.sleep(0.005)

            streamer = threading.Thread(target=stream)
            streamer.start()
            assert wait_for(lambda: state.read(RIDS) and ingest.ingest.applied > 50)
            broker.kill()
            killed.set()
            time.sleep(0.5)
            broker.start()
            streamer.join(30)
            final = resource_topic(park, "F1", RIDS[-1], Kind.STATE)
            assert wait_for(lambda: all(
                state.last_seq(resource_topic(park, "F1", r, Kind.STATE)) == LAST_SEQ
                for r in RIDS), 20), f"last seq seen {state.last_seq(final)}"
            assert ingest.connects >= 2  # it reconnected and subscribed again
            assert {r.status for r in state.read(RIDS).values()} == {"down"}
            pub.stop()

            # The broker kept every resource's newest retained state across the kill ...
            retained = _retained(address, park)
            assert sorted(retained) == sorted(resource_topic(park, "F1", r, Kind.STATE)
                                              for r in RIDS)
            assert {json.loads(p)["seq"] for p in retained.values()} == {LAST_SEQ}

        # ... so an ingest starting from an empty Redis rebuilds the whole live state.
        with redis_state(redis_url) as fresh:
            client = IngestClient(address, Ingest(fresh, directory),
                                  topic_filter=f"sharefab/v1/{park}/#", group=unique("g"))
            assert client.start(10)
            assert wait_for(lambda: len(fresh.read(RIDS)) == len(RIDS))
            assert {r.status for r in fresh.read(RIDS).values()} == {"down"}
            client.stop()
    finally:
        broker.stop()
