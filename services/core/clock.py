"""The platform's "now": the wall clock, or one accelerated simulated clock every process agrees on.

Every process that judges lots against their bookings (the API, the ingest workers, the
housekeeping, the simulated gateways of ``sharefab gateway``) reads its time here. Set
``SHAREFAB_CLOCK_EPOCH`` (an ISO 8601 instant) and ``SHAREFAB_CLOCK_SPEED`` (simulated seconds
per wall second) and they all run on ``epoch + (wall - epoch) * speed``: a function of the wall
clock only (no start-up instant of its own), so separate OS processes started at different
moments compute the same simulated instant. Unset (the default): the wall clock.

That is for demos and end-to-end tests that compress two days of shop floor into a minute;
a deployment leaves both unset. Login tokens and API keys stay on the real clock
(``services.auth``): they are about real time whatever the simulation does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class AcceleratedClock:
    """``epoch + (wall - epoch) * speed``: the same instant in every process on this host."""

    epoch: datetime
    speed: float

    def __post_init__(self) -> None:
        if self.epoch.tzinfo is None:
            raise ValueError("the clock epoch needs a time zone (e.g. 2026-01-01T00:00:00Z)")
        if not self.speed > 0:
            raise ValueError("the clock speed must be > 0")

    def __call__(self) -> datetime:
        wall = time.time() - self.epoch.timestamp()
        return self.epoch + timedelta(seconds=wall * self.speed)

    def env(self) -> dict[str, str]:
        """The settings that make another process run on this clock."""
        return {"SHAREFAB_CLOCK_EPOCH": self.epoch.isoformat(),
                "SHAREFAB_CLOCK_SPEED": repr(self.speed)}


def platform_clock(settings: Any) -> Clock:
    """The clock the settings ask for (``clock_epoch`` / ``clock_speed``), else the wall."""
    epoch = getattr(settings, "clock_epoch", None)
    speed = float(getattr(settings, "clock_speed", 1.0))
    if epoch is None:
        if speed != 1.0:  # a start of its own per process would put each on its own time
            raise ValueError("SHAREFAB_CLOCK_SPEED needs SHAREFAB_CLOCK_EPOCH")
        return wall_clock
    return AcceleratedClock(epoch, speed)
