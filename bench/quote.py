"""Quote latency and quality: one 5-step order against generated markets of 100 to 10,000.

Latency is the wall time of ``matching.engine.quote`` (three alternatives, candidate search and
model build included), over ``runs`` calls per market. Quality compares the cheapest quote's
objective (processing + transport + tardiness penalty, the scenario's weights) with a long
CP-SAT solve (``reference_s``, wider candidate lists) and with the greedy baseline, same run.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.market_gen import generate
from domain.model import OrderStatus, Plan, Scenario
from matching.engine import QUOTE_DEFAULTS, SolveOptions, quote, solve
from matching.plan import cost_breakdown
from matching.quotes import WIDE_FACTOR

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"


def _objective(scenario: Scenario, plan: Plan) -> float | None:
    o = plan.orders[0]
    return None if o.status is OrderStatus.UNMATCHED else cost_breakdown(scenario, o)["total"]


def _feasible_market(n: int, seed: int) -> Scenario:
    """The first seed from ``seed`` whose order the greedy baseline can place."""
    for s in range(seed, seed + 20):
        scenario = generate(n, 1, seed=s)
        if _objective(scenario, solve(scenario, policy="greedy")) is not None:
            return scenario
    raise RuntimeError(f"no feasible market of {n} resources in 20 seeds")


def measure(n: int, runs: int, reference_s: float, seed: int) -> dict[str, Any]:
    scenario = _feasible_market(n, seed)
    latencies, cheapest = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        quotes = quote(scenario, "O1")
        latencies.append((time.perf_counter() - t0) * 1000)
        cheapest = quotes[0]
    assert cheapest is not None
    quoted = (None if cheapest.plan.status is OrderStatus.UNMATCHED
              else cheapest.cost_breakdown["total"])
    greedy = _objective(scenario, solve(scenario, policy="greedy"))
    reference = _objective(scenario, solve(scenario, options=SolveOptions(
        time_limit_s=reference_s, candidates_per_step=30)))
    cuts = statistics.quantiles(latencies, n=20)
    return {"resources": n, "runs": runs, "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(cuts[18], 1), "quote_cny": quoted, "reference_cny": reference,
            "greedy_cny": greedy, "scenario_seed": seed,
            **_mean_vs_greedy(n, range(seed + 100, seed + 100 + MARKETS))}


# Markets per size for the mean quote / greedy ratio (one market alone is a noisy yardstick).
MARKETS = 10


def _mean_vs_greedy(n: int, seeds: range) -> dict[str, Any]:
    """Mean of cheapest quote / greedy over the markets of ``seeds`` greedy can serve."""
    ratios = []
    for s in seeds:
        scenario = generate(n, 1, seed=s)
        greedy = _objective(scenario, solve(scenario, policy="greedy"))
        cheapest = quote(scenario, "O1")[0]
        if greedy and cheapest.plan.status is not OrderStatus.UNMATCHED:
            ratios.append(cheapest.cost_breakdown["total"] / greedy)
    return {"mean_quote_greedy": round(statistics.mean(ratios), 3) if ratios else None,
            "markets_served": len(ratios)}


def run(sizes: list[int] | None = None, runs: int = 20, reference_s: float = 30.0,
        seed: int = 7, markdown: Path | None = RESULTS / "quote.md") -> list[dict[str, Any]]:
    load_before = os.getloadavg()[0]
    rows = [measure(n, runs, reference_s, seed) for n in (sizes or [100, 1000, 10000])]
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(render(rows, reference_s, (load_before + os.getloadavg()[0]) / 2))
    return rows


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.3f}"


def render(rows: list[dict[str, Any]], reference_s: float, load: float) -> str:
    lines = [
        "## Quote latency and quality (one 5-step order)",
        "",
        f"Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}: `sharefab bench quote`. "
        "Markets from `bench/market_gen.py` (seeded). Latency = `matching.engine.quote` wall time "
        "(candidate search, factory-layout search and greedy hints over "
        f"{WIDE_FACTOR * (QUOTE_DEFAULTS.candidates_per_step or 0)} candidates per step, "
        f"CP-SAT sharing {QUOTE_DEFAULTS.time_limit_s:g} s between cheapest (on the best "
        "hint's factories), fastest and balanced (on "
        f"{QUOTE_DEFAULTS.candidates_per_step} candidates per step), "
        f"{QUOTE_DEFAULTS.workers} workers). 1-min load average during the run: {load:.1f} "
        f"on {os.cpu_count()} cores. Objective = processing + transport + "
        f"tardiness penalty of the cheapest quote; reference = `solve` with {reference_s:g} s "
        "and 30 candidates per step; greedy = the engine's baseline, same run. Last column: "
        f"mean quote / greedy over {MARKETS} more markets of the size (seeds +100 on; in "
        "brackets, how many of them greedy can serve: the mean is over those).",
        "",
        "| resources | runs | p50 ms | p95 ms | quote CNY | reference CNY | greedy CNY "
        f"| quote / reference | quote / greedy | quote / greedy, {MARKETS} markets |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['resources']:,} | {r['runs']} | {r['p50_ms']} | {r['p95_ms']} "
            f"| {r['quote_cny']} | {r['reference_cny']} | {r['greedy_cny']} "
            f"| {_ratio(r['quote_cny'], r['reference_cny'])} "
            f"| {_ratio(r['quote_cny'], r['greedy_cny'])} "
            f"| {r.get('mean_quote_greedy') or '-'} ({r.get('markets_served', 0)}) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    run()


if __name__ == "__main__":
    main()
