"""A trivial in-memory ``LiveStateStore``: the seam API tests swap in to set a resource's state.

The embedded and production modes always use the Redis-backed store of ``services.live.redis_store``
(fakeredis in-process when no Redis URL is set).
"""

from __future__ import annotations

import threading
from collections import Counter

from services.live.store import LiveState

UNAVAILABLE_STATUSES = frozenset({"down", "offline"})


class InMemoryLiveStore:
    """Live states in a dict guarded by a lock (the API reads from worker threads)."""

    def __init__(self) -> None:
        self._states: dict[str, LiveState] = {}
        self._lock = threading.Lock()

    def put(self, state: LiveState) -> None:
        with self._lock:
            self._states[state.resource] = state

    def get(self, resource_id: str) -> LiveState | None:
        with self._lock:
            return self._states.get(resource_id)

    def get_many(self, resource_ids: list[str]) -> dict[str, LiveState]:
        with self._lock:
            return {r: self._states[r] for r in resource_ids if r in self._states}

    def unavailable(self) -> set[str]:
        with self._lock:
            return {r for r, s in self._states.items() if s.status in UNAVAILABLE_STATUSES}

    def count_by_status(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(s.status for s in self._states.values()))
