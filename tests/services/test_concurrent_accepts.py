"""100 concurrent accepts of conflicting quotes across three API processes on PostgreSQL.

One service line of capacity 3 with an 8 h window; 50 orders, each one 6 h lot on it, so any
four lots overlap; two offered quotes per order (100 in all). Three ``sharefab serve``
processes on free ports take the 100 accepts at once: exactly three orders win (201), every
other accept is refused (409: capacity, or the order already booked), none answers 5xx, and
an independent sweep over the stored bookings finds at most three lots at any instant.
"""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, delete, select, text
from sqlalchemy.orm import Session

from services.core.db import scratch_schema
from services.quotes.models import Quote
from tests.services import builders as b
from tests.services.auth_helpers import bearer, grant_url

CAPACITY, ORDERS, QUOTES_PER_ORDER, PROCESSES = 3, 50, 2, 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def api_urls(postgres_url: str, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """Three API processes on one fresh PostgreSQL schema; yields (database url, base urls)."""
    with scratch_schema(postgres_url, prefix="t_acc") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHAREFAB_")}
        env.update(SHAREFAB_DATABASE_URL=url, SHAREFAB_ENVIRONMENT="test",
                   SHAREFAB_MQTT_ENABLED="false", SHAREFAB_MATCH_IN_PROCESS="false",
                   SHAREFAB_DATA_DIR=str(tmp_path / "var"))
        exe = Path(sys.executable).with_name("sharefab")
        procs, bases = [], []
        for i in range(PROCESSES):
            port = _free_port()
            log = (tmp_path / f"api{i}.log").open("w")
            procs.append((subprocess.Popen(
                [str(exe), "serve", "--port", str(port), "--log-level", "warning"],
                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT), log))
            bases.append(f"http://127.0.0.1:{port}")
        try:
            for base, (proc, _) in zip(bases, procs, strict=True):
                _wait_up(base, proc)
            yield url, bases
        finally:
            for proc, _ in procs:
                proc.send_signal(signal.SIGINT)
            for proc, log in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                log.close()


def _wait_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180  # three processes importing OR-Tools on a busy box
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{base} not serving within 180 s (exit code {proc.poll()})")


# The platform key of the servers under test (one database, so one key for all three).
AUTH: dict[str, str] = {}


def _seed(url: str, base: str) -> list[str]:
    """The market, and 100 offered quotes: O0's real quote copied onto every order."""
    AUTH["token"] = grant_url(url)  # this database's servers
    auth = bearer(AUTH["token"])
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = day.replace(year=day.year + 1)  # a day a year ahead: always in the future
    hours = [{"start": (start.replace(hour=8)).isoformat(),
              "end": (start.replace(hour=16)).isoformat()}]
    line = b.resource("R1", capacity=CAPACITY)
    line["windows"] = hours
    assert httpx.post(base + "/parks", json={"id": "P9"}, headers=auth).status_code == 201
    assert httpx.post(base + "/factories", json=b.factory("F1", resources=[line]),
                      headers=auth).status_code == 201
    for k in range(ORDERS):
        doc = b.order(f"O{k}", quantity=60, min_lot=60, due=start.replace(hour=23).isoformat(),
                      steps=[b.step("s1", minutes_per_piece=6.0)])
        assert httpx.post(base + "/orders", json=doc, headers=auth).status_code == 201
    quotes = httpx.post(base + "/orders/O0/quotes", params={"time_limit_s": 1.0},
                        headers=auth, timeout=60).json()
    plan = next(q for q in quotes if q["kind"] == "cheapest")["plan"]
    assert plan["allocations"], plan
    engine = create_engine(url)
    ids = []
    with Session(engine) as db, db.begin():
        template = db.scalars(select(Quote).where(Quote.kind == "cheapest")).one()
        db.expunge(template)
        db.execute(delete(Quote))
        for k in range(ORDERS):
            for j in range(QUOTES_PER_ORDER):
                mine = copy.deepcopy(plan)
                mine["id"] = f"O{k}"
                db.add(Quote(id=f"Q-{k}-{j}", order_id=f"O{k}", kind=template.kind,
                             status="offered", plan_status="planned",
                             total_cost=template.total_cost, completion=template.completion,
                             lateness_min=0, plan=mine, cost_breakdown=template.cost_breakdown,
                             solver=template.solver, created_at=datetime.now(UTC)))
                ids.append(f"Q-{k}-{j}")
        # The orders were priced (their quotes stored above): the lifecycle says quoted.
        db.execute(text("UPDATE orders SET status = 'quoted'"))
    engine.dispose()
    return ids


def _max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    """Independent of scheduling/: the most intervals running at one instant."""
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals],
                   key=lambda x: (x[0], x[1]))
    peak = running = 0
    for _, d in edges:
        running += d
        peak = max(peak, running)
    return peak


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_accept__100_concurrent_across_three_processes_exactly_capacity_win(api_urls):
    url, bases = api_urls
    quote_ids = _seed(url, bases[0])
    assert len(quote_ids) == ORDERS * QUOTES_PER_ORDER == 100

    def accept(i: int) -> tuple[int, str]:
        base = bases[i % len(bases)]
        answer = httpx.post(f"{base}/quotes/{quote_ids[i]}/accept", timeout=120,
                            headers=bearer(AUTH["token"]))
        return answer.status_code, answer.text

    with ThreadPoolExecutor(max_workers=len(quote_ids)) as pool:
        results = list(pool.map(accept, range(len(quote_ids))))
    codes = Counter(code for code, _ in results)
    assert codes == {201: CAPACITY, 409: len(quote_ids) - CAPACITY}, \
        (codes, [t for c, t in results if c >= 500][:3])
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT order_id, start, \"end\" FROM bookings "
                                 "WHERE status != 'cancelled'")).all()
    engine.dispose()
    assert len({o for o, _, _ in rows}) == CAPACITY == len(rows)
    assert _max_overlap([(s, e) for _, s, e in rows]) <= CAPACITY
