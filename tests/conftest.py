"""Shared fixtures: where the real servers are, and what to do when one is missing.

With CI=true a missing PostgreSQL, Redis or Mosquitto fails the test that needs it; elsewhere
the test is skipped with the reason shown (pytest -ra prints it).
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

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


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    return require_server("Mosquitto", MQTT_URL, 1883)
