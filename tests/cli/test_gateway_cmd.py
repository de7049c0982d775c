"""``sharefab gateway`` against the embedded broker: it publishes, or it fails out loud."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from connectors.broker import free_port
from tests.connectors.embedded import running_broker


def _gateway(url: str, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAREFAB_")}
    return subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "gateway", "--park", "P1",
         "--no-from-db", "--factories", "1", "--resources", "2", "--rate", "5",
         "--mqtt-url", url, *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_gateway__publishes_state_to_the_embedded_broker():
    with running_broker() as broker:
        heard = threading.Event()
        sub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv311)
        sub.on_message = lambda _c, _u, m: heard.set() if m.topic.endswith("/state") else None
        sub.connect("127.0.0.1", broker.port)
        sub.subscribe("sharefab/v1/P1/#")
        sub.loop_start()
        proc = _gateway(broker.url)
        try:
            assert heard.wait(40), "no state message from the gateway"
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=20)
            sub.disconnect()
            sub.loop_stop()
    assert "MQTT 3.1.1" in out


def test_gateway__no_broker_exits_non_zero_and_says_so():
    port = free_port()
    proc = _gateway(f"mqtt://127.0.0.1:{port}")
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"gateway kept running without a broker:\n{out}")
    assert proc.returncode == 1
    assert f"cannot connect to the MQTT broker at mqtt://127.0.0.1:{port}" in out
    assert "publishing" not in out
