"""Load test of the production shape: 2 API, 2 ingest and 2 matcher processes on the real
PostgreSQL, Redis and Mosquitto of this machine, under the realistic mix (issue 12).

- gateways: one paho publisher sends every resource's state (QoS 0) round-robin at
  ``mqtt_rate_hz`` and an availability (QoS 1) every 20th message;
- SMEs (Locust): post orders, queue quote requests (wait=false) for the matchers, poll the
  quotes, now and then solve one on the spot (wait=true: bounded, may answer 429);
- park dashboards (Locust): /dashboard/data, /resources?park, /orders.

Everything runs on 127.0.0.1, in a scratch PostgreSQL schema and its own Redis key prefix and
MQTT share group, for ``duration_s`` (Locust headless). Writes ``bench/results/load.md``:
throughput and p50/p95/p99 per endpoint, the 429s apart from real errors, ingest and matcher
throughput, and the CPU each process used (what saturates first).

    python -m bench.load                # or: sharefab bench load; make bench runs it too
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.market_gen import generate, next_midnight
from connectors.broker import free_port
from connectors.mqtt import BrokerAddress, Publisher
from connectors.topics import Kind, resource_topic
from domain.schemas import dump_scenario
from services.core.db import scratch_schema

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
POSTGRES = os.environ.get("SHAREFAB_TEST_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("SHAREFAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MQTT = os.environ.get("SHAREFAB_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def _sharefab() -> str:
    found = shutil.which("sharefab", path=str(Path(sys.executable).parent))
    return found or "sharefab"


@contextmanager
def production_shape(db_url: str, prefix: str, group: str, port: int, *, api: int = 2,
                     ingest: int = 2, match: int = 2) -> Iterator[dict[str, list[int]]]:
    """The processes of the Procfile, started directly (their pids, by role)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAREFAB_")}
    env.update({"SHAREFAB_DATABASE_URL": db_url, "SHAREFAB_REDIS_URL": REDIS,
                "SHAREFAB_MQTT_URL": MQTT, "SHAREFAB_REDIS_KEY_PREFIX": prefix,
                "SHAREFAB_MQTT_SHARE_GROUP": group, "SHAREFAB_MQTT_IN_PROCESS": "false",
                "SHAREFAB_MATCH_IN_PROCESS": "false", "SHAREFAB_ENVIRONMENT": "test"})
    exe = _sharefab()
    api_argv = [exe, "serve", "--port", str(port), "--workers", str(api), "--log-level",
                "warning"]
    commands: list[tuple[str, list[str], dict[str, str]]] = [("api", api_argv, {})]
    commands += [("ingest", [exe, "worker", "ingest", "--log-level", "WARNING"],
                  {"SHAREFAB_WORKER_ID": f"{group}-{i}", "SHAREFAB_MIGRATE_ON_START": "false"})
                 for i in range(ingest)]
    commands += [("match", [exe, "worker", "match"], {"SHAREFAB_MIGRATE_ON_START": "false"})
                 for _ in range(match)]
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    logs = Path(tempfile.mkdtemp(prefix="sharefab-load-logs-"))
    try:
        for n, (role, argv, extra) in enumerate(commands):
            # stderr kept (a crashed process says why), in a file: a pipe nobody reads fills
            with (logs / f"{role}-{n}.log").open("wb") as err:
                procs.append((role, subprocess.Popen(argv, env={**env, **extra}, cwd=ROOT,
                                                     stdout=subprocess.DEVNULL, stderr=err)))
            if role == "api":  # it migrates the schema; the workers start after
                _wait_ready(port, 240, need_workers=False)
        pids: dict[str, list[int]] = {}
        for role, proc in procs:
            pids.setdefault(role, []).append(proc.pid)
        print(f"process logs: {logs}", file=sys.stderr)
        yield pids
    finally:
        for _, proc in procs:
            proc.terminate()
        for _, proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _platform_token(db_url: str) -> str:
    """An API key of a platform admin organisation, made in the (migrated) scratch schema."""
    from services.auth import service as auth_service
    from services.auth.models import OrgCreate, OrgKind, Role
    from services.core.db import make_engine, make_session_factory, session_scope

    engine = make_engine(db_url)
    try:
        with session_scope(make_session_factory(engine)) as db:
            if auth_service.get_org(db, org_id="load-platform") is None:
                auth_service.create_org(db, org_in=OrgCreate(id="load-platform",
                                                             kind=OrgKind("platform")))
            _, token = auth_service.create_key(db, org_id="load-platform", role=Role("admin"),
                                               now=datetime.now(UTC))
    finally:
        engine.dispose()
    return str(token)


def _wait_ready(port: int, timeout_s: float, *, need_workers: bool = True) -> None:
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=3)
            checks = r.json().get("checks", {})
            if r.status_code == 200 or (not need_workers and all(
                    v["ok"] for k, v in checks.items() if k != "workers")):
                return
            last = json.dumps(checks)[:300]
        except (httpx.HTTPError, ValueError) as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise RuntimeError(f"not ready in {timeout_s} s: {last}")


def _cpu_s(pid: int) -> float:
    """CPU seconds of a process and its children (the uvicorn workers) so far."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


class Gateways:
    """Publishes state (QoS 0) and availability (QoS 1) for the market's resources."""

    def __init__(self, where: list[tuple[str, str, str]], rate_hz: float) -> None:
        self.where, self.period_s = where, 1.0 / rate_hz
        self.publisher = Publisher(BrokerAddress.from_url(MQTT))
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seq = int(time.time() * 1000)
        next_at = time.perf_counter()
        while not self._stop.is_set():
            park, factory, rid = self.where[self.sent % len(self.where)]
            seq += 1
            now = datetime.now(UTC)
            if self.sent % 20 == 0:
                start = now + timedelta(hours=1)
                body = {"ts": now.isoformat(), "seq": seq, "windows": [
                    {"start": start.isoformat(), "end": (start + timedelta(hours=8)).isoformat()}]}
                self.publisher.publish(resource_topic(park, factory, rid, Kind.AVAILABILITY),
                                       json.dumps(body).encode(), qos=1)
            else:
                body = {"ts": now.isoformat(), "seq": seq, "status": "running",
                        "utilization": 0.5}
                self.publisher.publish(resource_topic(park, factory, rid, Kind.STATE),
                                       json.dumps(body).encode(), qos=0)
            self.sent += 1
            next_at += self.period_s
            delay = next_at - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)

    def __enter__(self) -> Gateways:
        assert self.publisher.start(10), "gateway publisher did not connect"
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.publisher.stop()


def _locust(port: int, seed_file: Path, users: int, duration_s: int, out: Path) -> None:
    locust = shutil.which("locust", path=str(Path(sys.executable).parent)) or "locust"
    subprocess.run([locust, "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                    "-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{duration_s}s",
                    "--host", f"http://127.0.0.1:{port}", "--csv", str(out), "--only-summary",
                    "--loglevel", "WARNING"],
                   env={**os.environ, "SHAREFAB_LOAD_SEED": str(seed_file)}, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=duration_s + 60)


def run(*, resources: int = 1000, users: int = 30, duration_s: int = 60,
        mqtt_rate_hz: float = 200.0) -> dict[str, Any]:
    # on the wall clock: a market dated in the past has orders due before now, refused (422)
    market = generate(resources, n_orders=20, seed=7, start=next_midnight())
    doc = dump_scenario(market)
    where = [(f.park, f.id, r.id) for f in market.factories for r in f.resources]
    prefix, group = f"load{uuid.uuid4().hex[:6]}:", f"load{uuid.uuid4().hex[:6]}"
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="sharefab-load-"))
    seed_file = tmp / "seed.json"
    seed_file.write_text(json.dumps({"orders": doc["orders"],
                                     "parks": sorted({f.park for f in market.factories})}))
    rds = redis.Redis.from_url(REDIS, decode_responses=True)
    load_before = os.getloadavg()
    bench_started = time.perf_counter()
    phases: dict[str, float] = {}
    with scratch_schema(POSTGRES, prefix="load") as db_url, \
            production_shape(db_url, prefix, group, port) as pids:
        phases["start"] = time.perf_counter() - bench_started
        token = _platform_token(db_url)
        seed = json.loads(seed_file.read_text())
        seed_file.write_text(json.dumps({**seed, "token": token}))
        r = httpx.post(f"http://127.0.0.1:{port}/scenario", json=doc, timeout=120,
                       headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        _wait_ready(port, 120)
        phases["market"] = time.perf_counter() - bench_started - sum(phases.values())
        unloaded = _unloaded_ms(port, token, seed["parks"][0])
        cpu0 = {role: sum(_cpu_s(p) for p in ps) for role, ps in pids.items()}
        msgs0 = int(rds.get(f"{prefix}metrics:messages") or 0)
        started = time.perf_counter()
        with Gateways(where, mqtt_rate_hz) as gateways:
            _locust(port, seed_file, users, duration_s, tmp / "locust")
        wall_s = time.perf_counter() - started
        phases["load"] = time.perf_counter() - bench_started - sum(phases.values())
        time.sleep(2)  # let the ingest drain
        cpu = {role: (sum(_cpu_s(p) for p in ps) - cpu0[role]) / wall_s
               for role, ps in pids.items()}
        ingested = int(rds.get(f"{prefix}metrics:messages") or 0) - msgs0
        stream = f"{prefix}quote-requests"
        queued = int(rds.xlen(stream))
        backlog = 0
        for g in rds.xinfo_groups(stream):
            backlog = int(g.get("lag") or 0) + int(g["pending"])
        dead = int(rds.xlen(f"{stream}:dead"))
        sent = gateways.sent
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            metrics = http.get("/metrics").text
    for key in rds.scan_iter(f"{prefix}*"):
        rds.delete(key)
    stats = _read_stats(tmp / "locust_stats.csv")
    failures = _read_failures(tmp / "locust_failures.csv")
    shutil.rmtree(tmp, ignore_errors=True)
    result = {"resources": resources, "users": users, "duration_s": round(wall_s, 1),
              "mqtt_rate_hz": mqtt_rate_hz, "mqtt_sent": sent, "mqtt_ingested": ingested,
              "quote_requests": queued, "quote_backlog": backlog, "dead_letters": dead,
              "cpu_cores": {k: round(v, 2) for k, v in cpu.items()}, "stats": stats,
              "unloaded_ms": unloaded,
              "failures": failures, "load_before": [round(x, 1) for x in load_before],
              "load_after": [round(x, 1) for x in os.getloadavg()],
              "quotes_solved": _metric_sum(metrics, "sharefab_quote_solve_seconds_count"),
              "bench_wall_s": round(time.perf_counter() - bench_started, 1),
              "phases_s": {k: round(v, 1) for k, v in phases.items()},
              "measured": f"{datetime.now(UTC):%Y-%m-%d %H:%M}"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.md").write_text(render(result), encoding="utf-8")
    (RESULTS / "load.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def _unloaded_ms(port: int, token: str, park: str, repeat: int = 7) -> dict[str, float]:
    """Median latency of each read endpoint, one request at a time, before the load starts:
    the same run's baseline for the p95 under load (same processes, same data)."""
    paths = {"GET /orders": "/orders", "GET /resources?park": f"/resources?park={park}&limit=200",
             "GET /dashboard/data": "/dashboard/data"}
    out: dict[str, float] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        for name, path in paths.items():
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                http.get(path).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            out[name] = round(sorted(times)[repeat // 2], 1)
    return out


def _metric_sum(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name))


def _read_stats(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rows.append({"name": row["Name"], "requests": int(row["Request Count"]),
                         "failures": int(row["Failure Count"]),
                         "rps": round(float(row["Requests/s"]), 2),
                         "p50_ms": _num(row["50%"]), "p95_ms": _num(row["95%"]),
                         "p99_ms": _num(row["99%"])})
    return rows


def _num(text: str) -> float | None:
    return None if text in ("", "N/A") else float(text)


def _read_failures(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [{"name": r["Name"], "error": r["Error"], "count": int(r["Occurrences"])}
                for r in csv.DictReader(fh)]


def refusals(failures: list[dict[str, Any]]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The 429s by guard (``rate``, ``quotes``, ``queue``; "429" alone: an older locustfile)
    and every other failure, which the issue allows none of."""
    by_guard: dict[str, int] = {}
    errors = []
    for f in failures:
        text = str(f["error"])
        if "429" in text:
            guard = text.split("429", 1)[1].strip(" ')\"") or "unnamed"
            by_guard[guard] = by_guard.get(guard, 0) + int(f["count"])
        else:
            errors.append(f)
    return by_guard, errors


def saturation(r: dict[str, Any], cores: int | None = None) -> list[str]:
    """What ran out first, then what else did, from the run's own figures (most certain
    first): the machine's CPU, our processes' CPU, the quote slots, the matchers, the ingest."""
    cores = cores or os.cpu_count() or 1
    used = sum(r["cpu_cores"].values())
    found = []
    if r["load_before"][0] >= cores:
        found.append(f"the machine's CPU: 1-minute load {r['load_before'][0]} on {cores} cores "
                     f"before the run (other work), our processes got {used:.2f} cores")
    elif used >= 0.8 * cores:
        found.append(f"CPU: our processes used {used:.2f} of {cores} cores")
    by_guard, _ = refusals(r["failures"])
    if by_guard.get("quotes"):
        found.append(f"the API's solver slots for quotes solved on the spot (wait=true): "
                     f"{by_guard['quotes']} refused with 429 (quote_tenant_max per process; "
                     f"every Locust SME shares one tenant)")
    if by_guard.get("rate"):
        found.append(f"the rate limit: {by_guard['rate']} requests refused with 429")
    if by_guard.get("queue") or r["quote_backlog"]:
        found.append(f"the matcher workers: {r['quote_backlog']} of {r['quote_requests']} "
                     f"queued requests still waiting at the end, {by_guard.get('queue', 0)} "
                     f"refused (match_queue_max)")
    if r["mqtt_sent"] and r["mqtt_ingested"] < 0.95 * r["mqtt_sent"]:
        found.append(f"the ingest: {r['mqtt_ingested']} of {r['mqtt_sent']} messages counted "
                     f"2 s after the end")
    return found or ["nothing measured here: no guard refused, no backlog, CPU to spare"]


def render(r: dict[str, Any]) -> str:
    by_guard, errors = refusals(r["failures"])
    provoked = sum(by_guard.values())
    lines = [
        "## Load: the production shape under the realistic mix (issue 12)",
        "",
        f"Measured {r.get('measured', f'{datetime.now(UTC):%Y-%m-%d %H:%M}')} UTC by "
        f"`sharefab bench load`: 2 API "
        f"processes (`sharefab serve --workers 2`), 2 ingest and 2 matcher workers on the "
        f"local PostgreSQL, Redis and Mosquitto; {r['resources']} resources; Locust headless "
        f"with {r['users']} users (SMEs 2 : park dashboards 3) for {r['duration_s']} s; "
        f"gateways publishing {r['mqtt_rate_hz']:g} msg/s. The machine's 2 cores were shared "
        f"with other work: load average {r['load_before'][0]} before, "
        f"{r['load_after'][0]} after."
        + (f" The whole bench took {r['bench_wall_s']:.0f} s"
           + (" (" + ", ".join(f"{k} {v:.0f} s" for k, v in r["phases_s"].items())
              + ", the rest stopping)" if r.get("phases_s") else "") + "."
           if r.get("bench_wall_s") else ""),
        "",
        "| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | failures | unloaded "
        "median ms | p95 / unloaded |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    unloaded = r.get("unloaded_ms", {})
    for s in r["stats"]:
        base = unloaded.get(s["name"])
        ratio = f"{s['p95_ms'] / base:.1f}" if base and s["p95_ms"] else ""
        lines.append(f"| {s['name']} | {s['requests']} | {s['rps']} | {s['p50_ms']} | "
                     f"{s['p95_ms']} | {s['p99_ms']} | {s['failures']} | {base or ''} | "
                     f"{ratio} |")
    lines += [
        "",
        f"- Refused with 429 (back-pressure, provoked): {provoked}"
        + (f" ({', '.join(f'{g}: {n}' for g, n in sorted(by_guard.items()))})"
           if by_guard else "")
        + f"; other errors: {sum(f['count'] for f in errors)}"
        + ("".join(f"\n  - {f['name']}: {f['error']} x{f['count']}" for f in errors)),
        f"- MQTT: {r['mqtt_sent']} messages published, {r['mqtt_ingested']} counted by the "
        f"ingest workers ({r['mqtt_ingested'] / r['duration_s']:.0f} msg/s)",
        f"- Matchers: {r['quote_requests']} quote requests queued, {r['quote_backlog']} still "
        f"waiting or solving at the end, {r['dead_letters']} dead-lettered; API solves on the "
        f"spot: {r['quotes_solved']:.0f}",
        "- CPU used per role (cores, averaged over the run): "
        + ", ".join(f"{k} {v}" for k, v in r["cpu_cores"].items()),
        "- Saturates first: " + "; then ".join(saturation(r)),
        "",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render-only", action="store_true",
                        help="re-render load.md from the stored load.json")
    args = parser.parse_args([] if argv is None else argv)  # run_all: main()
    if args.render_only:
        result = json.loads((RESULTS / "load.json").read_text(encoding="utf-8"))
        (RESULTS / "load.md").write_text(render(result), encoding="utf-8")
    else:
        result = run()
    print(render(result))


if __name__ == "__main__":
    main(sys.argv[1:])
