"""``LiveStateStore`` on Redis (production) or fakeredis (embedded, one process only).

The ingest writes through ``connectors.state.RedisState``; this module only reads, through the
same key layout, and answers the questions the API and the matcher ask. fakeredis keeps its
data per process: with ``redis_url`` unset, the ingest must run inside the API.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import fakeredis
import redis

from connectors.metrics import register_mqtt_metrics
from connectors.state import DEFAULT_HEARTBEAT_TTL_S, LiveRecord, RedisState
from services.live.breaker import DEFAULT_COOLDOWN_S, CircuitBreaker
from services.live.store import LiveState

UNAVAILABLE = frozenset({"down", "offline"})


def client_identity() -> dict[str, Any]:
    """Keyword arguments naming this client to Redis (CLIENT SETINFO) without a lookup.

    redis-py 8 reads its own version from the installed package's metadata (an email-parser
    pass over METADATA, milliseconds of CPU) for every new connection of a pool made by
    ``from_url``. A stalled Redis times every connection out, so each request made a new one:
    that parsing, under the GIL, slowed the requests that need no Redis (py-spy, bench/stall.py).
    The version is read once here. redis-py < 7 has no ``driver_info`` (and reads it once).
    """
    try:
        from redis.driver_info import DriverInfo
    except ImportError:
        return {}
    return {"driver_info": DriverInfo(lib_version=redis.__version__)}


def redis_from_url(url: str, **kwargs: Any) -> redis.Redis:
    """``redis.Redis.from_url`` with the client's identity computed once (``client_identity``)."""
    client: redis.Redis = redis.Redis.from_url(url, **client_identity(), **kwargs)
    return client


class RedisLiveStore:
    """Reads live state from Redis; ``state`` is shared with the ingest in the same process.

    Every read goes through ``breaker`` (services.live.breaker): while Redis is known to be
    down a read fails at once with ``BreakerOpenError`` (503) instead of waiting out the timeout.
    """

    def __init__(self, state: RedisState, breaker: CircuitBreaker | None = None) -> None:
        self.state = state
        self.breaker = breaker or CircuitBreaker(DEFAULT_COOLDOWN_S, probe=state.redis.ping)

    def get(self, resource_id: str) -> LiveState | None:
        return self.get_many([resource_id]).get(resource_id)

    def get_many(self, resource_ids: list[str]) -> dict[str, LiveState]:
        records = self.breaker.call(lambda: self.state.read(resource_ids))
        return {rid: _live(rec) for rid, rec in records.items()}

    def unavailable(self) -> set[str]:
        records = self.breaker.call(self.state.read_all)
        return {rid for rid, rec in records.items() if rec.status in UNAVAILABLE}

    def count_by_status(self) -> dict[str, int]:
        records = self.breaker.call(self.state.read_all)
        return dict(Counter(rec.status for rec in records.values()))


def _live(rec: LiveRecord) -> LiveState:
    return LiveState(resource=rec.resource, status=rec.status, utilization=rec.utilization,
                     last_seen=rec.last_seen)


def make_live_store(settings: Any) -> RedisLiveStore:
    """The store for ``settings``: real Redis at ``redis_url``, else an in-process fakeredis.

    Optional settings (read with defaults): ``redis_key_prefix``, ``heartbeat_ttl_s``,
    ``redis_timeout_s`` and ``redis_breaker_s`` (the breaker's cool-down).
    """
    url = getattr(settings, "redis_url", None)
    # A stalled Redis fails the call within redis_timeout_s (503) instead of hanging it.
    timeout_s = float(getattr(settings, "redis_timeout_s", 1.0))
    client: redis.Redis = (redis_from_url(url, health_check_interval=30,
                                          socket_timeout=timeout_s,
                                          socket_connect_timeout=timeout_s) if url
                           else fakeredis.FakeRedis())
    prefix = getattr(settings, "redis_key_prefix", "sharefab:")
    ttl = int(getattr(settings, "heartbeat_ttl_s", DEFAULT_HEARTBEAT_TTL_S))
    # On an accelerated platform clock a message 0.2 s old is speed x 0.2 s old in its own
    # time: the heartbeat (a wall-clock expiry) must not count that as silence.
    speed = float(getattr(settings, "clock_speed", 1.0))
    state = RedisState(client, prefix=prefix, heartbeat_ttl_s=ttl, time_scale=speed)
    # The API shows the ingest totals even when the ingest runs in other processes.
    register_mqtt_metrics(state)
    cooldown_s = float(getattr(settings, "redis_breaker_s", DEFAULT_COOLDOWN_S))
    return RedisLiveStore(state, CircuitBreaker(cooldown_s, probe=client.ping))
