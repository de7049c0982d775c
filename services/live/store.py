"""Live state of resources (status, utilization, last seen), behind one small interface.

Production keeps it in Redis with TTL heartbeats; the embedded mode uses fakeredis in-process.
The API and the market view read it through ``LiveStateStore`` and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LiveState:
    resource: str
    status: str  # idle | running | down | offline
    utilization: float | None
    last_seen: datetime


class LiveStateStore(Protocol):
    def get(self, resource_id: str) -> LiveState | None: ...

    def get_many(self, resource_ids: list[str]) -> dict[str, LiveState]: ...

    def unavailable(self) -> set[str]:
        """Resource ids that are down or offline: the matcher must not plan on them."""
        ...

    def count_by_status(self) -> dict[str, int]: ...
