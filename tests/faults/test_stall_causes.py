"""What made ``GET /orders`` slow beside a stalled Redis (py-spy of a server, bench/stall.py),
each held down by a test that needs no server:

- a 503'd request's frames (hundreds of ORM rows for ``GET /resources``) were freed on the
  event loop when Starlette cleared the traceback: now in a worker thread;
- a warning per 503, written on the event loop: now one per dependency per
  ``OUTAGE_LOG_EVERY_S`` with the count in between;
- redis-py 8 parsed its package metadata for every new connection, and a stalled Redis made
  one per request: the client's identity is now computed once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

import pytest
import redis
import redis.utils
from fastapi import FastAPI
from fastapi.testclient import TestClient
from redis.exceptions import TimeoutError as RedisTimeout

from services.api import errors
from services.live.redis_store import redis_from_url


class _Rows:
    """Stands for what a route read before Redis failed; notes the thread that frees it."""

    freed_in: ClassVar[list[str]] = []

    def __del__(self) -> None:
        _Rows.freed_in.append(threading.current_thread().name)


def test_503__the_failed_request_is_freed_off_the_event_loop() -> None:
    app = FastAPI()
    errors.install(app)
    loop_thread: list[str] = []

    @app.get("/loop")
    async def loop() -> dict[str, str]:
        loop_thread.append(threading.current_thread().name)
        return {}

    @app.get("/live")
    def live() -> None:
        rows = _Rows()  # noqa: F841  # held by this frame, as a route's ORM rows are
        raise RedisTimeout("Timeout reading from socket")

    _Rows.freed_in.clear()
    with TestClient(app) as client:
        assert client.get("/loop").status_code == 200
        answer = client.get("/live")
    assert answer.status_code == 503
    assert answer.json()["dependency"] == "redis"
    assert len(_Rows.freed_in) == 1
    assert _Rows.freed_in[0] != loop_thread[0], "freed on the event loop"


def test_503__one_warning_per_dependency_per_interval_with_the_count(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = [1000.0]
    outages = errors.OutageLog(every_s=10.0, clock=lambda: clock[0])
    with caplog.at_level(logging.WARNING, logger=errors.log.name):
        logged = [outages.warn("redis", "Redis unavailable: %s", "x") for _ in range(50)]
        assert outages.warn("database", "database busy: %s", "y")  # its own interval
        clock[0] += 10.5
        assert outages.warn("redis", "Redis unavailable: %s", "x")
    assert logged == [True] + [False] * 49
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["Redis unavailable: x", "database busy: y",
                     "Redis unavailable: x (49 more 503s since the last warning)"]


def test_redis_client__new_connections_do_not_read_package_metadata(
        monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[int] = []
    original = redis.utils.get_lib_version

    def counting() -> Any:
        looked_up.append(1)
        return original()

    monkeypatch.setattr(redis.utils, "get_lib_version", counting)
    pool = redis_from_url("redis://127.0.0.1:1/0").connection_pool
    connections = [pool.make_connection() for _ in range(5)]  # no socket is opened
    assert looked_up == []
    if hasattr(connections[0], "driver_info"):  # redis-py >= 7: still says who it is
        assert connections[0].driver_info.lib_version == redis.__version__
    # The control: a plain from_url pool looks the version up per connection (redis-py 8).
    plain = redis.Redis.from_url("redis://127.0.0.1:1/0").connection_pool
    plain.make_connection()
    if hasattr(connections[0], "driver_info"):
        assert looked_up, "the probe did not see redis-py's own lookup"
