"""``/healthz`` (liveness) and ``/readyz`` (readiness) that tell the truth (issue 12).

``/healthz`` answers 200 while the process serves HTTP at all: an orchestrator restarts the
process when it stops. It checks no dependency on purpose: restarting the API does not bring
back Redis.

``/readyz`` answers 200 only when this process can do its job now: the database answers
``SELECT 1``, Redis answers PING, the MQTT publisher is connected to the broker, and the
workers the deployment relies on are alive (a matcher / ingest heartbeat key in Redis for each
``sharefab worker`` process when they run outside the API, the in-process thread otherwise).
Each check has its own deadline, so a stalled dependency makes ``/readyz`` red within about
``redis_timeout_s``, never hung. A load balancer takes a red replica out of rotation. The
Redis check also shows the circuit breaker (services.live.breaker) and is red while it is open:
the replica answers 503 to Redis-needing requests until its probe closes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from services.live.breaker import CLOSED
from services.live.deps import breaker_of
from services.workers import heartbeat

CHECK_TIMEOUT_S = 2.0


def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


async def readyz(request: Request) -> JSONResponse:
    """Readiness: every dependency this replica needs answers now (503 + Retry-After if not)."""
    state = request.app.state
    checks: dict[str, Callable[[], str]] = {
        "database": lambda: _database(state),
        "redis": lambda: _redis(state),
        "broker": lambda: _broker(state),
        "workers": lambda: _workers(state),
    }
    results: dict[str, dict[str, Any]] = {}

    async def run(name: str, check: Callable[[], str]) -> None:
        started = time.perf_counter()
        ok, detail = False, "timed out"
        with anyio.move_on_after(CHECK_TIMEOUT_S):
            try:
                detail = await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
                ok = True
            except Exception as exc:  # the check's failure is the answer, not an error
                detail = f"{type(exc).__name__}: {exc}"[:300]
        results[name] = {"ok": ok, "detail": detail,
                         "ms": round((time.perf_counter() - started) * 1000, 1)}

    async with anyio.create_task_group() as group:
        for name, check in checks.items():
            group.start_soon(run, name, check)
    breaker = breaker_of(getattr(state, "live", None))
    if breaker is not None:  # what Redis-needing requests get now, beside what PING says
        snapshot = breaker.snapshot()
        results["redis"]["breaker"] = snapshot
        if snapshot["state"] != CLOSED:  # this replica answers 503 for them until it closes
            results["redis"]["ok"] = False
    ready = all(r["ok"] for r in results.values())
    body = {"status": "ready" if ready else "not ready",
            "checks": {name: results[name] for name in checks}}
    return JSONResponse(status_code=200 if ready else 503, content=body,
                        headers={} if ready else {"Retry-After": "5"})


def _database(state: Any) -> str:
    with state.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return "SELECT 1 answered"


def _redis_client(state: Any) -> Any:
    live_state = getattr(state.live, "state", None)  # RedisLiveStore; tests may swap it
    return getattr(live_state, "redis", None)


def _redis(state: Any) -> str:
    """PING through the breaker: an open one answers at once (red), a due one probes here, so
    a replica nobody sends Redis-needing requests to still turns green when Redis is back."""
    client = _redis_client(state)
    if client is None:
        return "not used (in-memory live store)"
    breaker = breaker_of(getattr(state, "live", None))
    if breaker is None:
        client.ping()
    else:
        breaker.call(client.ping)
    return "PING answered"


def _broker(state: Any) -> str:
    settings = state.settings
    if not settings.mqtt_enabled:
        return "MQTT disabled"
    runtime = getattr(state, "mqtt_runtime", None)
    publisher = getattr(runtime, "publisher", None)
    if publisher is None or not publisher.client.is_connected():
        raise ConnectionError("not connected to the MQTT broker")
    return "connected"


def _workers(state: Any) -> str:
    settings, parts = state.settings, []
    needs = []
    if settings.match_in_process:
        matcher = getattr(state, "matcher", None)
        if matcher is None or not matcher.alive():
            raise RuntimeError("the in-process matcher thread is not running")
        parts.append("matcher in process")
    else:
        needs.append("match")
    if settings.mqtt_enabled and settings.mqtt_url and not settings.mqtt_in_process:
        needs.append("ingest")
    if needs:
        client = getattr(getattr(state, "quote_queue", None), "client", None)
        if client is None:
            raise RuntimeError("no Redis client to read worker heartbeats")
        counts = heartbeat.alive(client, settings.redis_key_prefix)
        missing = [kind for kind in needs if counts.get(kind, 0) == 0]
        parts += [f"{counts.get(kind, 0)} {kind} worker(s)" for kind in needs]
        if missing:
            raise RuntimeError(f"no live {' or '.join(missing)} worker heartbeat; "
                               f"{', '.join(parts)}")
    return ", ".join(parts) or "none needed"
