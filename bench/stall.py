"""Database-only endpoints while Redis is stalled (issue 12): the p95 of ``GET /orders``.

One real API process (``sharefab serve``, the code path and defaults a user runs) on a scratch
PostgreSQL schema and its own redis-server, which this bench SIGSTOPs. Six client threads call
Redis-backed endpoints (``/resources``, ``/dashboard/data``, quotes) while one thread times
``GET /orders`` sequentially: first with Redis healthy (the baseline of the same run), then
stalled; once with callers that send again the moment an answer comes (a flood that overloads
the process whatever Redis does), once with callers paced at ``PACE_HZ`` each (the same rate
healthy and stalled, so those two rows differ by the stall alone).
The fault test (tests/faults/test_api_faults.py) asserts the structure (no Redis
command in ``GET /orders``, nothing past the Redis timeout); the timing lives here.

    python -m bench.stall        # writes bench/results/stall.md (BENCHMARKS.md via run_all)
    python -m bench.stall --record /tmp/stall.txt  # and py-spy samples of the stall
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.api import postgres_reachable
from bench.load import POSTGRES, _cpu_s, _platform_token, _sharefab, _wait_ready
from connectors.broker import free_port
from services.core.db import scratch_schema

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
REDIS_TIMEOUT_S = 0.5
SAMPLES = 150
CALLERS = 6
# The paced rows: each caller sends at most this many requests a second, the same with Redis
# healthy and stalled, so the two rows differ by the stall alone. The flood rows (callers that
# send again the moment an answer comes) overload one API process even with Redis healthy:
# they measure saturation, which the rate limit and quote admission answer, not the stall.
PACE_HZ = 5.0


@contextmanager
def own_redis() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}", timeout=0.2)
            except httpx.RemoteProtocolError:
                break  # something answers on the port (not HTTP): redis is up
            except httpx.HTTPError:
                time.sleep(0.05)
                continue
            break
        yield proc, port
    finally:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        proc.wait(10)


@contextmanager
def api_server(db_url: str, redis_port: int, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAREFAB_")}
    env.update({"SHAREFAB_DATABASE_URL": db_url,
                "SHAREFAB_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "SHAREFAB_REDIS_TIMEOUT_S": str(REDIS_TIMEOUT_S),
                "SHAREFAB_MQTT_IN_PROCESS": "false", "SHAREFAB_MATCH_IN_PROCESS": "true",
                "SHAREFAB_QUOTE_TENANT_MAX": "50", "SHAREFAB_QUOTE_QUEUE_MAX": "50",
                "SHAREFAB_ENVIRONMENT": "test"})
    log = Path(tempfile.mkstemp(prefix="sharefab-stall-", suffix=".log")[1])
    with log.open("wb") as err:
        proc = subprocess.Popen([_sharefab(), "serve", "--port", str(port), "--log-level",
                                 "warning"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=err)
    try:
        _wait_ready(port, 240, need_workers=False)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        print(f"server log: {log}", file=sys.stderr)


def _mix(http: httpx.Client, *, quotes: bool, order_id: str, callers: int = CALLERS,
         caller_seconds: list[float] | None = None,
         caller_tokens: list[str] | None = None, pace_hz: float = 0.0
         ) -> tuple[list[float], list[int], list[int]]:
    """``SAMPLES`` sequential GET /orders beside ``callers`` threads on Redis endpoints
    (their own latencies into ``caller_seconds`` when given). Each caller is a client of its
    own (``caller_tokens``): with the breaker's 503s cheap, one shared key's rate limit (per
    API key) answered 429 to the timed ``GET /orders`` too. ``pace_hz`` > 0: each caller
    sends at most that many requests a second (0: again the moment an answer comes)."""
    stop = threading.Event()
    caller_status: list[int] = []
    took = caller_seconds if caller_seconds is not None else []

    def timed(call: Any) -> None:
        started = time.perf_counter()
        caller_status.append(call().status_code)
        took.append(time.perf_counter() - started)
        if pace_hz > 0:
            stop.wait(max(0.0, 1.0 / pace_hz - (time.perf_counter() - started)))

    def caller(token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else http.headers
        with httpx.Client(base_url=str(http.base_url), headers=headers,
                          timeout=30) as own:
            while not stop.is_set():
                for url in ("/resources", "/dashboard/data"):
                    timed(lambda url=url: own.get(url))
                if quotes:
                    timed(lambda: own.post(f"/orders/{order_id}/quotes?time_limit_s=0.2"))

    tokens = caller_tokens or []
    threads = [threading.Thread(target=caller, args=(tokens[i] if i < len(tokens) else None,),
                                daemon=True) for i in range(callers)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    seconds, status = [], []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        answer = http.get("/orders")
        seconds.append(time.perf_counter() - started)
        status.append(answer.status_code)
    stop.set()
    for t in threads:
        t.join(30)
    return seconds, status, caller_status


def _record(pid: int, out: Path, seconds: int = 6) -> None:
    """py-spy samples of every thread, idle ones too (collapsed stacks): where a slow
    ``GET /orders`` waits shows up as its thread's frames, not as CPU."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
    subprocess.run([spy, "record", "--pid", str(pid), "--idle", "--threads", "--format", "raw",
                    "--rate", "200", "--duration", str(seconds), "--output", str(out)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   timeout=seconds + 30)


def _breaker_metrics(text: str) -> dict[str, float]:
    """The Redis circuit breaker's figures from /metrics (services/live/breaker_metrics.py)."""
    wanted = {'sharefab_redis_breaker_state{state="open"}': "open",
              "sharefab_redis_breaker_opened_total": "opened_total",
              "sharefab_redis_breaker_probes_failed_total": "probes_failed_total"}
    out: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name in wanted:
            out[wanted[name]] = float(value)
    return out


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000


def run(*, dump: str = "") -> dict[str, Any]:
    from bench.market_gen import generate  # the same generator as bench.load
    from domain.schemas import dump_scenario

    doc = dump_scenario(generate(500, n_orders=20, seed=7))
    order_id = doc["orders"][0]["id"]
    load_before = os.getloadavg()
    with own_redis() as (rds, redis_port), scratch_schema(POSTGRES, prefix="stall") as db_url:
        port = free_port()
        with api_server(db_url, redis_port, port) as server:
            token = _platform_token(db_url)
            headers = {"Authorization": f"Bearer {token}"}
            callers = [_platform_token(db_url) for _ in range(CALLERS)]
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers,
                              timeout=60) as http:
                http.post("/scenario", json=doc).raise_for_status()
                http.get("/orders").raise_for_status()  # warm
                cpu0, own0 = _cpu_s(server.pid), resource.getrusage(resource.RUSAGE_SELF)
                alone, alone_status, _ = _mix(http, quotes=False, order_id=order_id, callers=0)
                cpu_alone = _cpu_s(server.pid) - cpu0
                cpu0 = _cpu_s(server.pid)
                healthy, healthy_status, _ = _mix(http, quotes=False, order_id=order_id,
                                                  caller_tokens=callers)
                cpu_healthy = _cpu_s(server.pid) - cpu0
                paced_healthy, paced_healthy_status, _ = _mix(
                    http, quotes=False, order_id=order_id, caller_tokens=callers,
                    pace_hz=PACE_HZ)
                rds.send_signal(signal.SIGSTOP)
                try:
                    paced_caller_s: list[float] = []
                    paced_stalled, paced_stalled_status, paced_caller_status = _mix(
                        http, quotes=True, order_id=order_id, caller_seconds=paced_caller_s,
                        caller_tokens=callers, pace_hz=PACE_HZ)
                    if dump:
                        threading.Timer(1.0, _record, (server.pid, Path(dump))).start()
                    cpu1 = _cpu_s(server.pid)
                    caller_s: list[float] = []
                    stalled, stalled_status, caller_status = _mix(
                        http, quotes=True, order_id=order_id, caller_seconds=caller_s,
                        caller_tokens=callers)
                    cpu_stalled = _cpu_s(server.pid) - cpu1
                    breaker = _breaker_metrics(http.get("/metrics").text)
                finally:
                    rds.send_signal(signal.SIGCONT)
                own1 = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "samples": SAMPLES, "callers": CALLERS, "redis_timeout_s": REDIS_TIMEOUT_S,
        "alone": {"p50_ms": round(_pct(alone, 50), 1), "p95_ms": round(_pct(alone, 95), 1),
                  "max_ms": round(max(alone) * 1000, 1), "status": sorted(set(alone_status)),
                  "server_cpu_s": round(cpu_alone, 2)},
        "healthy": {"p50_ms": round(_pct(healthy, 50), 1), "p95_ms": round(_pct(healthy, 95), 1),
                    "max_ms": round(max(healthy) * 1000, 1),
                    "status": sorted(set(healthy_status)),
                    "server_cpu_s": round(cpu_healthy, 2)},
        "stalled": {"p50_ms": round(_pct(stalled, 50), 1), "p95_ms": round(_pct(stalled, 95), 1),
                    "max_ms": round(max(stalled) * 1000, 1),
                    "status": sorted(set(stalled_status)),
                    "callers_status": sorted(set(caller_status)),
                    "callers": len(caller_status),
                    "callers_503": sum(1 for c in caller_status if c == 503),
                    "callers_p95_ms": round(_pct(caller_s, 95), 1),
                    "callers_max_ms": round(max(caller_s) * 1000, 1),
                    "breaker": breaker,
                    "server_cpu_s": round(cpu_stalled, 2)},
        "pace_hz": PACE_HZ,
        "paced_healthy": {"p50_ms": round(_pct(paced_healthy, 50), 1),
                          "p95_ms": round(_pct(paced_healthy, 95), 1),
                          "max_ms": round(max(paced_healthy) * 1000, 1),
                          "status": sorted(set(paced_healthy_status))},
        "paced_stalled": {"p50_ms": round(_pct(paced_stalled, 50), 1),
                          "p95_ms": round(_pct(paced_stalled, 95), 1),
                          "max_ms": round(max(paced_stalled) * 1000, 1),
                          "status": sorted(set(paced_stalled_status)),
                          "callers_status": sorted(set(paced_caller_status)),
                          "callers_p95_ms": round(_pct(paced_caller_s, 95), 1)},
        "client_cpu_s": round(own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime, 2),
        "load_before": round(load_before[0], 1), "load_after": round(os.getloadavg()[0], 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "stall.md").write_text(render(result), encoding="utf-8")
    return result


def render(r: dict[str, Any]) -> str:
    a, h, s = r["alone"], r["healthy"], r["stalled"]
    ph, ps = r.get("paced_healthy"), r.get("paced_stalled")
    verdict = "met" if (ps or s)["p95_ms"] < 100 else "NOT met"
    paced_rows = [
        f"| healthy, {r['callers']} callers at {r['pace_hz']:g}/s each | {ph['p50_ms']} | "
        f"{ph['p95_ms']} | {ph['max_ms']} | {ph['status']} | |",
        f"| stalled (SIGSTOP), {r['callers']} callers at {r['pace_hz']:g}/s each | "
        f"{ps['p50_ms']} | {ps['p95_ms']} | {ps['max_ms']} | {ps['status']} | |",
    ] if ph and ps else []
    paced_lines = [
        f"- paced callers ({r['pace_hz']:g} requests/s each, the same healthy and stalled, so "
        f"the two rows differ by the stall alone): p95 stalled / healthy "
        f"{ps['p95_ms'] / ph['p95_ms']:.2f}; the issue's bound (p95 < 100 ms while stalled): "
        f"**{verdict}**; the callers got {ps['callers_status']} while stalled (p95 "
        f"{ps['callers_p95_ms']} ms)",
        "- flood callers (each sends again the moment an answer comes): they saturate the "
        "one API process with Redis healthy too (second row), so those rows measure "
        "overload, which the per-key rate limit and quote admission answer, more than the "
        "stall; with the stall the same flood costs `GET /orders` less than healthy",
    ] if ph and ps else []
    return "\n".join([
        "## Redis stalled: database-only endpoints stay fast (issue 12)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m bench.stall`: one "
        f"`sharefab serve` process on a scratch PostgreSQL schema and its own redis-server "
        f"(Redis timeout {r['redis_timeout_s']} s); {r['samples']} sequential `GET /orders` "
        f"(per row) beside {r['callers']} client threads calling `/resources`, "
        f"`/dashboard/data` (and, "
        f"while stalled, quotes). 1-minute load average {r['load_before']} before, "
        f"{r['load_after']} after (2 shared cores).",
        "",
        "| Redis, beside | GET /orders p50 ms | p95 ms | max ms | status | server CPU s |",
        "|---|---:|---:|---:|---|---:|",
        f"| healthy, alone (baseline) | {a['p50_ms']} | {a['p95_ms']} | {a['max_ms']} | "
        f"{a['status']} | {a['server_cpu_s']} |",
        f"| healthy, {r['callers']} Redis callers | {h['p50_ms']} | {h['p95_ms']} | "
        f"{h['max_ms']} | "
        f"{h['status']} | {h['server_cpu_s']} |",
        f"| stalled (SIGSTOP), {r['callers']} Redis callers | {s['p50_ms']} | "
        f"{s['p95_ms']} | {s['max_ms']} | "
        f"{s['status']} | {s['server_cpu_s']} |",
        *paced_rows,
        "",
        *paced_lines,
        f"- flood: p95 stalled / alone: {s['p95_ms'] / a['p95_ms']:.1f}; stalled / healthy "
        f"beside the same callers: {s['p95_ms'] / h['p95_ms']:.2f}; under 100 ms: "
        f"{'yes' if s['p95_ms'] < 100 else 'no'}",
        f"- the Redis callers answered {s['callers_status']} while stalled "
        f"({s.get('callers_503', '?')} of {s.get('callers', '?')} were 503 JSON + "
        f"Retry-After; their p95 {s.get('callers_p95_ms', '?')} ms, max "
        f"{s.get('callers_max_ms', '?')} ms against the Redis timeout of "
        f"{r['redis_timeout_s'] * 1000:.0f} ms); they retry at once, not after Retry-After",
        f"- the Redis circuit breaker (services/live/breaker.py, default cool-down) at the "
        f"stall's end, from /metrics: {s.get('breaker', {})}; while it is open a Redis "
        "caller's 503 is answered before authentication: no database work, no Redis timeout; "
        "each caller thread has an API key of its own (the rate limit is per key)",
        "- client CPU (this bench's threads) "
        f"{r['client_cpu_s']} s; server CPU is per row above",
        "",
    ]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", default="", metavar="FILE",
                        help="py-spy samples of the server during the stall (collapsed stacks)")
    args = parser.parse_args([] if argv is None else argv)  # run_all: main()
    if not postgres_reachable(POSTGRES):
        raise SystemExit(f"PostgreSQL not reachable at {POSTGRES}")
    print(render(run(dump=args.record)))


if __name__ == "__main__":
    main(sys.argv[1:])
