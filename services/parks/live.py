"""A park's live machine states as server-sent events, and since when each machine is in its
state.

The ingest writes every accepted state message to the live store (Redis) at once; the stream
reads the states of the park's machines only (one pipelined read) every ``POLL_S`` and sends
an event for each machine whose status changed, so the page never re-fetches everything. The
first event is a snapshot of all of them. The store keeps only the latest state, so the time a
machine entered its state is tracked here (``SinceTracker``): the ``last_seen`` of the first
message seen with the new status. We assume someone watches (the stream or ``/down``) while a
machine changes; a change nobody saw is dated by the message it was first seen in.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import anyio

from services.live.store import LiveState

POLL_S = 0.25
KEEPALIVE_S = 15.0


class SinceTracker:
    """Since when each resource has had its current status (thread-safe, one per app)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def observe(self, states: dict[str, LiveState]) -> dict[str, datetime]:
        """Record ``states``; answers since when each of them has its status."""
        out = {}
        with self._lock:
            for rid, state in states.items():
                known = self._seen.get(rid)
                if known is None or known[0] != state.status:
                    known = (state.status, state.last_seen)
                    self._seen[rid] = known
                out[rid] = known[1]
        return out


def state_event(rid: str, state: LiveState | None, since: datetime | None,
                where: tuple[str, str, str]) -> dict[str, Any]:
    factory, name, process = where
    return {"resource": rid, "factory": factory, "factory_name": name, "process": process,
            "status": state.status if state else "unknown",
            "utilization": state.utilization if state else None,
            "since": since.isoformat() if since else None,
            "last_seen": state.last_seen.isoformat() if state else None}


def _sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def stream(*, read: Callable[[], dict[str, LiveState]],
                 where: dict[str, tuple[str, str, str]], tracker: SinceTracker,
                 disconnected: Callable[[], Any], max_events: int | None,
                 max_s: float) -> AsyncIterator[str]:
    """``snapshot`` once, then one ``state`` event per status change; ends after
    ``max_events`` events or ``max_s`` seconds (the browser's EventSource reconnects)."""
    yield "retry: 2000\n\n"
    states = await anyio.to_thread.run_sync(read)
    since = tracker.observe(states)
    last = {rid: s.status for rid, s in states.items()}
    yield _sse("snapshot", [state_event(rid, states.get(rid), since.get(rid), w)
                            for rid, w in where.items()])
    sent, waited, idle = 1, 0.0, 0.0
    while (max_events is None or sent < max_events) and waited < max_s:
        await anyio.sleep(POLL_S)
        waited += POLL_S
        if await disconnected():
            return
        states = await anyio.to_thread.run_sync(read)
        since = tracker.observe(states)
        changed = [rid for rid in where if rid in states
                   and last.get(rid) != states[rid].status]
        for rid in changed:
            last[rid] = states[rid].status
            yield _sse("state", state_event(rid, states[rid], since.get(rid), where[rid]))
            sent, idle = sent + 1, 0.0
            if max_events is not None and sent >= max_events:
                return
        idle += POLL_S
        if idle >= KEEPALIVE_S:
            idle = 0.0
            yield ": keep-alive\n\n"
