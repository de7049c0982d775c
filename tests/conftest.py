"""Shared fixtures: where the real servers are, and what to do when one is missing.

With CI=true a missing PostgreSQL, Redis or Mosquitto fails the test that needs it; elsewhere
the test is skipped with the reason shown (pytest -ra prints it).
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from tests.serial import ALONE_GROUP, runs_alone

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

POSTGRES_URL = os.environ.get(
    "SHAREFAB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SHAREFAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MQTT_URL = os.environ.get("SHAREFAB_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1",
                                       parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def require_server(name: str, url: str, default_port: int) -> str:
    """Return ``url`` if the server answers; fail under CI, skip elsewhere."""
    if _reachable(url, default_port):
        return url
    message = f"{name} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing server is a failure, not a skip)")
    pytest.skip(f"{message}; start it to run this test")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return require_server("PostgreSQL", POSTGRES_URL, 5432)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return require_server("Redis", REDIS_URL, 6379)


# The park ids the tests make up (``f"P{uuid4().hex[:8]}"``): their retained messages are the
# tests' own and are cleared, never anybody else's.
_TEST_PARK = re.compile(r"^P[0-9a-f]{8}$")


def clear_test_retained(url: str, *, listen_s: float = 1.0) -> int:
    """Delete the retained messages that earlier test runs' gateways left on the broker.

    They pile up on a long-lived broker, and each one is replayed to every new ingest when it
    subscribes: enough of them use up the ingest's lookup budget for unknown ids, so a test's
    own new factory could be refused as unknown. Returns how many were cleared.
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    parsed = urlparse(url)
    topics: list[str] = []

    def on_message(_client: object, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        parts = msg.topic.split("/")
        if msg.retain and msg.payload and len(parts) > 2 and _TEST_PARK.match(parts[2]):
            topics.append(msg.topic)

    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_message = on_message
    client.connect(parsed.hostname or "127.0.0.1", parsed.port or 1883)
    client.loop_start()
    try:
        client.subscribe("sharefab/v1/#", qos=0)
        time.sleep(listen_s)
        for topic in topics:
            client.publish(topic, b"", qos=1, retain=True).wait_for_publish(timeout=5)
    finally:
        client.loop_stop()
        client.disconnect()
    return len(topics)


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    url = require_server("Mosquitto", MQTT_URL, 1883)
    clear_test_retained(url)
    yield url
    clear_test_retained(url)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the tests that must not overlap in one xdist group (tests/serial.py: which, why)."""
    for item in items:
        if runs_alone(item.nodeid, getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group(name=ALONE_GROUP))
