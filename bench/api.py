"""The REST API at market scale, on SQLite and on PostgreSQL, measured in-process.

For each backend and market size (``bench/market_gen.py``, seeded): bulk import and export of the
market as a scenario (docs/formats.md; ``POST`` / ``GET /scenario``), single reads (``GET
/resources/{id}``), a filtered list, order intake (``POST /orders``), the database side of a quote
(the market snapshot, ``services.quotes.service.market_for``) and booking commits (``POST
/quotes/{id}/accept`` after a quote). Requests go through FastAPI's TestClient (the whole app stack,
no network). Baseline, same run: ``GET /healthz``, the framework's floor per request.
"""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from bench.market_gen import T0, generate
from domain.schemas import OrderIn, dump_scenario
from services.api.app import create_app
from services.auth import service as auth_service
from services.auth.models import OrgCreate, OrgKind, Role
from services.core.db import scratch_schema, session_scope
from services.core.settings import Settings
from services.live.memory import InMemoryLiveStore
from services.quotes import service as quote_service

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
POSTGRES_URL = os.environ.get("SHAREFAB_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _platform_key(app: Any) -> str:
    """An API key of the platform admin: the benchmark measures requests as they really run,
    authenticated and authorised."""
    with session_scope(app.state.session_factory) as db:
        auth_service.create_org(db, org_in=OrgCreate(id="bench", kind=OrgKind.PLATFORM))
        _, token = auth_service.create_key(db, org_id="bench", role=Role.ADMIN,
                                           now=datetime.now(UTC))
    return token


def _ms(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    cuts = statistics.quantiles(samples, n=20) if len(samples) > 1 else samples * 19
    return round(statistics.median(samples) * 1000, 2), round(cuts[18] * 1000, 2)


def _time(call: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        out.append(time.perf_counter() - t0)
    return out


@contextmanager
def _database(backend: str, workdir: Path) -> Iterator[str]:
    """A fresh database URL: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    with scratch_schema(POSTGRES_URL, prefix="bench") as url:
        yield url


def postgres_reachable(url: str = POSTGRES_URL) -> bool:
    """Whether a PostgreSQL answers at ``url`` within 2 s (the benches measure it only then)."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def measure(backend: str, n_resources: int, requests: int, accepts: int, seed: int,
            workdir: Path) -> dict[str, Any]:
    market = generate(n_resources, n_orders=accepts, seed=seed)
    doc = dump_scenario(market)
    rng = random.Random(seed)
    resource_ids = [r.id for f in market.factories for r in f.resources]
    processes = sorted({r.process for f in market.factories for r in f.resources})
    with _database(backend, workdir) as url:
        settings = Settings(database_url=url, environment="test", mqtt_enabled=False,
                            match_in_process=False)
        app = create_app(settings, live=InMemoryLiveStore(), clock=lambda: T0)
        with TestClient(app) as client:
            client.headers["Authorization"] = f"Bearer {_platform_key(app)}"
            t0 = time.perf_counter()
            assert client.post("/scenario", json=doc).status_code == 200
            import_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            exported = client.get("/scenario")
            export_s = time.perf_counter() - t0
            assert exported.status_code == 200
            health = _time(lambda: client.get("/healthz"), requests)
            reads = _time(lambda: client.get(f"/resources/{rng.choice(resource_ids)}"), requests)
            lists = _time(lambda: client.get("/resources",
                                             params={"process": rng.choice(processes)}),
                          max(10, requests // 10))
            template = OrderIn.of(market.orders[0]).model_dump(mode="json")
            counter = iter(range(10**9))
            intake = _time(lambda: client.post(
                "/orders", json={**template, "id": f"BENCH-{next(counter)}"}), requests)
            snapshot = []
            for _ in range(max(5, requests // 20)):
                with session_scope(app.state.session_factory) as db:
                    t0 = time.perf_counter()
                    quote_service.market_for(db, order_id="O1", unavailable=set(), now=T0)
                    snapshot.append(time.perf_counter() - t0)
            accepted, accept_times = 0, []
            for o in market.orders:
                offers = client.post(f"/orders/{o.id}/quotes", params={"time_limit_s": 0.3})
                planned = [q for q in offers.json() if q["plan"]["status"] == "planned"]
                if not planned:
                    continue
                t0 = time.perf_counter()
                answer = client.post(f"/quotes/{planned[0]['id']}/accept")
                accept_times.append(time.perf_counter() - t0)
                accepted += answer.status_code == 201
    row: dict[str, Any] = {
        "backend": backend, "resources": n_resources, "factories": len(market.factories),
        "windows": sum(len(r.windows) for f in market.factories for r in f.resources),
        "import_s": round(import_s, 2), "export_s": round(export_s, 2),
        "healthz_ms": _ms(health), "get_resource_ms": _ms(reads),
        "list_by_process_ms": _ms(lists), "post_order_ms": _ms(intake),
        "snapshot_ms": _ms(snapshot),
        "accept_ms": _ms(accept_times) if accept_times else None,
        "accepted": accepted, "accept_attempts": len(accept_times),
    }
    return row


def run(sizes: tuple[int, ...] = (1000, 5000), requests: int = 300, accepts: int = 15,
        seed: int = 3, backends: tuple[str, ...] = ("sqlite", "postgres"),
        workdir: Path = Path("var/bench"),
        markdown: Path | None = RESULTS / "api.md") -> list[dict[str, Any]]:
    workdir.mkdir(parents=True, exist_ok=True)
    chosen = [b for b in backends if b != "postgres" or postgres_reachable()]
    rows = [measure(b, n, requests, accepts, seed, workdir) for n in sizes for b in chosen]
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(render(rows, requests), encoding="utf-8")
    return rows


def render(rows: list[dict[str, Any]], requests: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## REST API at market scale (SQLite and PostgreSQL)",
        "",
        f"Measured {when}: `sharefab bench api`. In-process (FastAPI TestClient: the whole app "
        "stack, no network, one client). Markets from `bench/market_gen.py` (seeded). Latency "
        f"p50 / p95 in ms over {requests} requests; `x healthz` = p50 over the p50 of "
        "`GET /healthz` in the same run (the framework's floor). Snapshot = the database side "
        "of a quote (market snapshot for one 5-step order); accept = `POST /quotes/{id}/accept` "
        "(locks, overlap checks, one commit).",
        "",
        "| backend | resources | windows | import s | export s | healthz ms | GET resource ms "
        "(x healthz) | list by process ms | POST order ms (x healthz) | snapshot ms | accept ms "
        "| accepted |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        floor = r["healthz_ms"][0] or 1e-9
        accept = (f"{r['accept_ms'][0]} / {r['accept_ms'][1]}" if r["accept_ms"] else "n/a")
        lines.append(
            f"| {r['backend']} | {r['resources']:,} | {r['windows']:,} | {r['import_s']} | "
            f"{r['export_s']} | {r['healthz_ms'][0]} | {r['get_resource_ms'][0]} / "
            f"{r['get_resource_ms'][1]} ({r['get_resource_ms'][0] / floor:.1f}x) | "
            f"{r['list_by_process_ms'][0]} / {r['list_by_process_ms'][1]} | "
            f"{r['post_order_ms'][0]} / {r['post_order_ms'][1]} "
            f"({r['post_order_ms'][0] / floor:.1f}x) | {r['snapshot_ms'][0]} / "
            f"{r['snapshot_ms'][1]} | {accept} | {r['accepted']}/{r['accept_attempts']} |")
    by = {(r["backend"], r["resources"]): r for r in rows}
    ratios = []
    for (backend, n), r in sorted(by.items()):
        base = by.get(("sqlite", n))
        if backend == "postgres" and base:
            ratios.append(
                f"- {n:,} resources, PostgreSQL / SQLite: import "
                f"{r['import_s'] / max(base['import_s'], 1e-9):.2f}x, GET resource "
                f"{r['get_resource_ms'][0] / max(base['get_resource_ms'][0], 1e-9):.2f}x, "
                f"POST order {r['post_order_ms'][0] / max(base['post_order_ms'][0], 1e-9):.2f}x, "
                f"snapshot {r['snapshot_ms'][0] / max(base['snapshot_ms'][0], 1e-9):.2f}x")
    if ratios:
        lines += ["", *ratios]
    return "\n".join(lines) + "\n"


def main() -> None:
    run()
