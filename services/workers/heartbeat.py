"""Workers say they are alive: a Redis key per process, refreshed well inside its TTL.

``/readyz`` counts the live keys per kind (``ingest``, ``match``): a worker that died, hung or
lost Redis stops refreshing and its key expires after ``ttl_s``. The keys are
``{prefix}workers:{kind}:{name}`` holding the time of the beat.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from typing import Any

import redis

log = logging.getLogger(__name__)

KINDS = ("ingest", "match")


def key(prefix: str, kind: str, name: str) -> str:
    return f"{prefix}workers:{kind}:{name}"


def beat(client: redis.Redis, prefix: str, kind: str, name: str, ttl_s: float) -> None:
    client.set(key(prefix, kind, name), repr(time.time()), px=int(ttl_s * 1000))


def alive(client: redis.Redis, prefix: str) -> dict[str, int]:
    """Live workers per kind (every kind in KINDS present, 0 when none)."""
    counts: Counter[str] = Counter(dict.fromkeys(KINDS, 0))
    pattern = f"{prefix}workers:*"
    for raw in client.scan_iter(match=pattern, count=500):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        kind = name[len(prefix) + len("workers:"):].split(":", 1)[0]
        counts[kind] += 1
    return dict(counts)


class Heartbeat:
    """A daemon thread beating every ``ttl_s / 3`` until stopped; Redis errors are logged."""

    def __init__(self, client: redis.Redis, prefix: str, kind: str, name: str,
                 ttl_s: float = 15.0, healthy: Any = None) -> None:
        self.client, self.prefix, self.kind, self.name = client, prefix, kind, name
        self.ttl_s = ttl_s
        # Optional callable: beat only while it says the worker can do its job.
        self.healthy = healthy
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{kind}",
                                        daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.healthy is None or self.healthy():
                    beat(self.client, self.prefix, self.kind, self.name, self.ttl_s)
            except redis.RedisError as exc:
                log.warning("heartbeat %s/%s: %s", self.kind, self.name, exc)
            self._stop.wait(self.ttl_s / 3)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(redis.RedisError):  # else the key expires on its own
            self.client.delete(key(self.prefix, self.kind, self.name))
