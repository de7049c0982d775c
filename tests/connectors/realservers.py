"""Helpers for tests against the real Mosquitto and Redis: unique ids, polling."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis

from connectors.directory import StaticDirectory
from connectors.ingest import Ingest, NoEffects
from connectors.mqtt import BrokerAddress, IngestClient
from connectors.state import RedisState


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@contextmanager
def redis_state(redis_url: str) -> Iterator[RedisState]:
    state = RedisState(redis.Redis.from_url(redis_url), prefix=unique("test:") + ":")
    try:
        yield state
    finally:
        state.clear()
        state.redis.close()


@contextmanager
def running_ingest(address: BrokerAddress, state: RedisState, directory: StaticDirectory,
                   park: str, effects: NoEffects | None = None,
                   group: str | None = None) -> Iterator[IngestClient]:
    """An ingest on this test's park only, in its own share group (tests run side by side)."""
    ingest = Ingest(state, directory, effects or NoEffects())
    client = IngestClient(address, ingest, topic_filter=f"sharefab/v1/{park}/#",
                          group=group or unique("g"))
    assert client.start(timeout_s=10), "ingest did not subscribe"
    try:
        yield client
    finally:
        client.stop()
