"""Runs launched from the API, in background threads: bounded concurrency, a bounded queue.

``SimulationWorker`` keeps ``workers`` daemon threads taking run ids from a queue; each run
calls the simulations package's public runner (``run_policies`` per seed, then
``render_report``) and writes its progress to the database as the simulated days pass, so the
page can follow it. ``stop()`` asks running ones to end at their next simulated day (they are
marked failed, "stopped"); a run left queued by a stopped server is failed at the next start.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from services.core.db import session_scope
from services.simulations import service
from services.simulations.models import RunState
from simulations.config import parse_config
from simulations.runner import PolicyRun, run_policies

log = logging.getLogger(__name__)


class Stopped(Exception):  # noqa: N818 - a condition, raised inside the runner's callback
    """The worker is stopping: the run ends at its next simulated day."""


class QueueFullError(Exception):
    """More runs waiting than the queue holds (answered 429)."""


class SimulationWorker:
    def __init__(self, session_factory: sessionmaker[Session], *, workers: int = 1,
                 max_queued: int = 8,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.max_queued = max_queued
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, name=f"simulation-{i}",
                                          daemon=True) for i in range(max(1, workers))]
        with session_scope(session_factory) as db:
            abandoned = service.fail_abandoned(db, now=clock())
        if abandoned:
            log.warning("%d simulation runs of a stopped server marked failed", abandoned)
        for t in self._threads:
            t.start()

    def submit(self, run_id: str) -> None:
        if self._queue.qsize() >= self.max_queued:
            raise QueueFullError(f"{self.max_queued} runs are waiting already; try later")
        self._queue.put(run_id)

    def queued(self) -> int:
        return self._queue.qsize()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            run_id = self._queue.get()
            if run_id is None:
                return
            try:
                self.run(run_id)
            except Exception:  # one broken run must not stop the worker
                log.exception("simulation %s failed", run_id)

    def run(self, run_id: str) -> None:
        """Run one stored run to its end (also called directly by tests)."""
        with session_scope(self.session_factory) as db:
            run = service.get(db, run_id=run_id)
            if run is None or run.status != RunState.QUEUED.value:
                return
            service.start(db, run=run, now=self.clock())
            config_data, policies, seeds = dict(run.config), list(run.policies), list(run.seeds)
        try:
            kpis, html = self._simulate(run_id, config_data, policies, seeds)
        except Stopped:
            with session_scope(self.session_factory) as db:
                service.fail(db, run_id=run_id, error="stopped with the server",
                             now=self.clock())
            return
        except Exception as exc:
            with session_scope(self.session_factory) as db:
                service.fail(db, run_id=run_id, error=f"{type(exc).__name__}: {exc}",
                             now=self.clock())
            raise
        with session_scope(self.session_factory) as db:
            service.finish(db, run_id=run_id, kpis=kpis, report_html=html, now=self.clock())

    def _simulate(self, run_id: str, config_data: dict[str, object], policies: list[str],
                  seeds: list[int]) -> tuple[list[dict[str, object]], str]:
        from simulations.report import render_report  # matplotlib: loaded when first needed

        config = parse_config(config_data, "config")
        steps = len(seeds) * len(policies)
        done_steps = 0
        last_written = [-1.0]

        def progress(policy: str, day: int, days: int) -> None:
            if self._stop.is_set():
                raise Stopped
            share = (done_steps + (day / days if days else 1.0)) / (steps + 0.2)
            if share - last_written[0] >= 0.02:  # a write per 2 %, not per day of each run
                last_written[0] = share
                with session_scope(self.session_factory) as db:
                    service.set_progress(db, run_id=run_id, progress=share,
                                         note=f"seed {seed}, {policy}: day {day} of {days}")

        kpis: list[dict[str, object]] = []
        first: list[PolicyRun] = []
        by_seed = {}
        for seed in seeds:
            runs = run_policies(config, policies, seed=seed, progress=progress)
            done_steps += len(policies)
            kpis += [{"seed": seed, **asdict(r.kpis)} for r in runs]
            by_seed[seed] = [r.kpis for r in runs]
            first = first or runs
        with session_scope(self.session_factory) as db:
            service.set_progress(db, run_id=run_id, progress=steps / (steps + 0.2),
                                 note="writing the report")
        html = render_report(first, title=f"ShareFab simulation {run_id}",
                             by_seed=by_seed if len(seeds) > 1 else None)
        return kpis, html
