"""Builders shared by the connector tests: payload bytes, a directory, a state on fakeredis."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import fakeredis

from connectors.directory import StaticDirectory
from connectors.state import RedisState

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def body(seq: int, ts: datetime = NOW, **fields: Any) -> bytes:
    return json.dumps({"ts": iso(ts), "seq": seq, **fields}).encode()


def state_body(seq: int, status: str = "running", utilization: float | None = 0.5,
               ts: datetime = NOW) -> bytes:
    return body(seq, ts, status=status, utilization=utilization)


def directory(park: str = "P1", factory: str = "F1",
              resources: tuple[str, ...] = ("R1", "R2")) -> StaticDirectory:
    return StaticDirectory((park, factory, r) for r in resources)


def fake_state(heartbeat_ttl_s: int = 30) -> RedisState:
    return RedisState(fakeredis.FakeRedis(), prefix=f"t{uuid.uuid4().hex[:8]}:",
                      heartbeat_ttl_s=heartbeat_ttl_s)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
