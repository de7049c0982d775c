"""One simulated clock for every process (``services.core.clock``, SHAREFAB_CLOCK_*), and
the shop-floor grace settings the workers read (issue 11)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.core.clock import AcceleratedClock, platform_clock, wall_clock
from services.core.settings import Settings
from services.workers.ingest import effects_for, offline_grace

EPOCH = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_clock__unset_is_the_wall_clock():
    assert platform_clock(Settings()) is wall_clock
    before = datetime.now(UTC)
    assert before <= platform_clock(Settings())() <= datetime.now(UTC)


def test_clock__runs_speed_times_the_wall_from_the_epoch():
    epoch = datetime.now(UTC) - timedelta(seconds=10)  # 10 wall seconds ago
    clock = platform_clock(Settings(clock_epoch=epoch, clock_speed=60.0))
    elapsed = clock() - epoch
    assert timedelta(seconds=599) < elapsed < timedelta(seconds=660)  # ~10 min simulated


def test_clock__another_process_reads_the_same_instant():
    """A process started later, from the same settings, is on the same simulated time: the
    clock is a function of the wall clock, not of when a process started."""
    clock = AcceleratedClock(EPOCH, 1000.0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAREFAB_")}
    env.update(clock.env())
    code = ("from services.core.clock import platform_clock\n"
            "from services.core.settings import Settings\n"
            "print(platform_clock(Settings())().isoformat())")
    before = clock()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    after = clock()
    theirs = datetime.fromisoformat(out.strip())
    assert before <= theirs <= after  # 1 ms of wall is 1 s here: a start-up clock would miss


def test_clock__speed_without_an_epoch_is_refused():
    with pytest.raises(ValidationError, match="CLOCK_EPOCH"):
        Settings(clock_speed=10.0)
    with pytest.raises(ValidationError, match="time zone"):
        Settings(clock_epoch=datetime(2026, 1, 1), clock_speed=10.0)
    with pytest.raises(ValidationError):
        Settings(clock_epoch=EPOCH, clock_speed=0.0)


def test_clock__read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHAREFAB_CLOCK_EPOCH", "2026-12-01T08:00:00Z")
    monkeypatch.setenv("SHAREFAB_CLOCK_SPEED", "120")
    clock = platform_clock(Settings())
    assert clock == AcceleratedClock(EPOCH, 120.0)


def test_grace_settings__reach_the_ingest_effects_and_sweep(monkeypatch):
    monkeypatch.setenv("SHAREFAB_OVERRUN_GRACE_S", "90")
    monkeypatch.setenv("SHAREFAB_OFFLINE_GRACE_S", "45")
    settings = Settings()
    effects = effects_for(settings, session_factory=None)  # type: ignore[arg-type]
    assert effects.overrun_grace == timedelta(seconds=90)
    assert offline_grace(settings) == timedelta(seconds=45)
    monkeypatch.undo()
    defaults = Settings()
    assert effects_for(defaults, None).overrun_grace == timedelta(minutes=10)  # type: ignore[arg-type]
    assert offline_grace(defaults) == timedelta(minutes=5)


def test_clock__heartbeat_counts_wall_seconds_on_an_accelerated_clock():
    """A state message 0.2 wall seconds old is 36 s old on a 180x clock: the resource's
    heartbeat (a wall-clock expiry, 30 s) must not read that as 36 s of silence."""
    from services.live.redis_store import make_live_store

    seen = EPOCH
    fast = make_live_store(Settings(clock_epoch=EPOCH, clock_speed=180.0)).state
    wall = make_live_store(Settings()).state
    args = {"topic": "t", "seq": 1, "park": "P", "factory": "F", "resource": "R",
            "status": "idle", "utilization": None, "last_seen": seen,
            "now": seen + timedelta(seconds=36)}
    assert int(fast.state_op(**args)[-1]) == 29  # 30 s less 0.2 wall seconds
    assert int(wall.state_op(**args)[-1]) <= 0  # really 36 s silent: no heartbeat left
