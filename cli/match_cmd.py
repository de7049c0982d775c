"""``sharefab match`` and the matching benchmarks (``sharefab bench fjsp|quote|multiorder``).

Thin: parse arguments, call matching / bench, print with rich.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from cli.apps import app, bench_app, load_bench
from domain.schemas import dump_plan, parse_scenario
from matching.engine import SolveOptions, solve

console = Console()
# In the checkout (the package is installed editable): see bench/instances/README.md.
_BRANDIMARTE = Path(__file__).resolve().parents[1] / "bench" / "instances" / "brandimarte"


def default_time_limit(orders: int) -> float:
    """The budget of ``sharefab match`` when none is given: it grows with the batch.

    CP-SAT stops early only when it proves a plan optimal, and the lot-splitting model's bound
    rarely closes (examples/scenario.json: best plan 2,437.20 CNY found within 1 s, bound
    2,347.20 still open after 10 s), so a fixed 10 s made a one-order example wait 10 s for
    nothing. Measured on that example: 0.5 s -> 2,529.75, 1-10 s -> 2,437.20 CNY.
    """
    return min(10.0, max(2.0, 0.5 * orders))


@app.command("match")
def match(
    scenario: Annotated[Path, typer.Argument(help="scenario JSON (docs/formats.md#scenario)",
                                             exists=True, dir_okay=False)],
    out: Annotated[Path | None,
                   typer.Option("-o", "--out", help="write the plan JSON here")] = None,
    policy: Annotated[str, typer.Option(help="cpsat or greedy")] = "cpsat",
    time_limit: Annotated[float | None, typer.Option(
        help="CP-SAT time limit, seconds (default: 0.5 s per order, at least 2 s, at most "
             "10 s)", min=0.01)] = None,
    workers: Annotated[int, typer.Option(help="CP-SAT workers")] = 2,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed")] = 0,
) -> None:
    """Plan the orders of SCENARIO on its market (the plan of docs/formats.md#plan)."""
    if policy not in ("cpsat", "greedy"):
        raise typer.BadParameter("must be 'cpsat' or 'greedy'", param_hint="--policy")
    try:
        data = json.loads(scenario.read_text(encoding="utf-8"))
        parsed = parse_scenario(data)
    except json.JSONDecodeError as exc:
        console.print(f"[red]{scenario}: not JSON: {exc}[/red]")
        raise typer.Exit(2) from exc
    except (ValidationError, ValueError) as exc:
        console.print(f"[red]{scenario}: invalid scenario:[/red]\n{exc}")
        raise typer.Exit(2) from exc
    limit = time_limit if time_limit is not None else default_time_limit(len(parsed.orders))
    plan = solve(parsed, policy="greedy" if policy == "greedy" else "cpsat",
                 options=SolveOptions(time_limit_s=limit, workers=workers, seed=seed))
    doc = dump_plan(plan)
    if out is not None:
        out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    table = Table(title=f"plan ({plan.solver.status}, {plan.solver.wall_s:.2f} s)")
    for col in ("order", "status", "cost CNY", "completion", "late min", "lots", "reason"):
        table.add_column(col)
    for o in doc["orders"]:
        table.add_row(o["id"], o["status"], f"{o['total_cost']:.2f}", o["completion"] or "-",
                      str(o["lateness_min"]), str(len(o["allocations"])), o["reason"] or "")
    console.print(table)
    if out is not None:
        console.print(f"plan written to {out}")


@bench_app.command("fjsp")
def bench_fjsp(
    directory: Annotated[Path, typer.Argument(
        help="folder of .fjs files (default: the ten Brandimarte files in "
             "bench/instances/brandimarte)", exists=True, file_okay=False)] = _BRANDIMARTE,
    time_limit: Annotated[float, typer.Option(help="seconds per instance")] = 30.0,
    json_out: Annotated[Path | None, typer.Option("--json", help="per-instance JSON")] = None,
    workers: Annotated[int, typer.Option(help="search threads: tabu search + CP-SAT")] = 2,
    runs: Annotated[int, typer.Option(min=1, help="repeat the whole set (spread)")] = 1,
    markdown: Annotated[Path | None, typer.Option(
        help="also write the BENCHMARKS.md section here (make bench writes "
             "bench/results/fjsp.md)")] = None,
    engine: Annotated[str, typer.Option(
        help="platform: matching.engine.solve on the instance as a market (what the batch "
             "solve runs); fjsp: the FJSP-only search of matching/fjsp/; platform-lns: the "
             "platform with its opt-in LNS (SolveOptions.improve_share); both: platform then "
             "fjsp")] = "platform",
) -> None:
    """Solve FJSP instances with the matching engine; makespan vs best known."""
    choices = {"platform": ("platform",), "fjsp": ("fjsp",), "both": ("platform", "fjsp"),
               "platform-lns": ("platform-lns",)}
    if engine not in choices:
        raise typer.BadParameter(f"--engine must be one of {', '.join(choices)}")
    fjsp = load_bench("fjsp")
    rows = fjsp.run(directory, time_limit_s=time_limit, json_out=json_out, workers=workers,
                    runs=runs, markdown=markdown, engines=choices[engine])
    table = Table(title="FJSP (makespan)")
    for col in ("engine", "instance", "makespan", "bound", "BKS", "gap %", "greedy", "wall s"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["engine"], r["instance"], str(r["makespan"]), str(r["bound"]),
                      str(r["bks"]),
                      f"{r['gap_pct']:.2f}" if r["gap_pct"] is not None else "-",
                      str(r["greedy_makespan"]), f"{r['wall_s']:.1f}")
    console.print(table)


@bench_app.command("quote")
def bench_quote(
    sizes: Annotated[str, typer.Option(help="market sizes, comma separated")] = "1000,10000,100000",
    runs: Annotated[int, typer.Option(help="quotes per size")] = 20,
    reference_s: Annotated[float, typer.Option(help="long reference solve, seconds")] = 30.0,
    curve_sizes: Annotated[str, typer.Option(
        help="sizes that also get the budget curve, comma separated")] = "10000",
    curve_candidates: Annotated[str, typer.Option(
        help="candidates per step on the curve, comma separated")] = "4,8,12",
    curve_time_limits: Annotated[str, typer.Option(
        help="time limits (s) on the curve, comma separated")] = "0.05,0.2,1.0,5.0",
    merge: Annotated[bool, typer.Option(
        help="keep the stored rows of sizes not measured in this run")] = False,
) -> None:
    """POST /orders/{id}/quotes over HTTP: p50/p95 end to end and cost vs a long solve."""
    bq = load_bench("quote")
    curve = {"time_limits_s": [float(x) for x in curve_time_limits.split(",")],
             "candidates": [int(x) for x in curve_candidates.split(",")]}
    rows = bq.run(sizes=[int(x) for x in sizes.split(",")], runs=runs, reference_s=reference_s,
                  curve_sizes=tuple(int(x) for x in curve_sizes.split(",") if x), curve=curve,
                  merge=merge)
    console.print_json(json.dumps(rows))


@bench_app.command("multiorder")
def bench_multiorder(
    scenarios: Annotated[int, typer.Option(help="generated scenarios")] = 5,
    time_limit: Annotated[float, typer.Option(help="CP-SAT seconds per scenario")] = 20.0,
) -> None:
    """CP-SAT vs greedy cost on generated multi-order scenarios."""
    multiorder = load_bench("multiorder")
    rows = multiorder.run(scenarios=scenarios, time_limit_s=time_limit)
    console.print_json(json.dumps(rows))
