"""Run several policies on one generated market and write the analyst's files.

``DIR/kpis.csv`` (one row per policy), ``DIR/utilization.csv`` (overall, per park, per
process), ``DIR/events_<policy>.csv`` (the event log), ``DIR/orders_<policy>.csv`` (one row
per order: status, completion, cost) and ``DIR/report.html``. Nothing written
depends on the wall clock, so the same config and seed give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from matching.engine import SolveOptions
from simulations.config import SimConfig
from simulations.des import SimResult, simulate
from simulations.generator import Market, generate
from simulations.kpis import (
    KPI_COLUMNS,
    Kpis,
    compute,
    events_csv,
    order_outcomes,
    to_csv,
    utilization_rows,
)
from simulations.market_state import lookahead_min
from simulations.policies import POLICY_NAMES, Planner, make_policy

# Called with (policy, simulated day, days in the run) as the simulation moves on.
Progress = Callable[[str, int, int], None]


@dataclass
class PolicyRun:
    result: SimResult
    kpis: Kpis


def solve_options(config: SimConfig) -> SolveOptions:
    """The deterministic per-order budget: 1 worker and a deterministic time limit."""
    s = config.solver
    return SolveOptions(time_limit_s=s.time_limit_s, workers=1, seed=0,
                        deterministic_time_s=s.deterministic_time_s,
                        max_lots_per_step=s.max_lots_per_step,
                        candidates_per_step=s.candidates_per_step,
                        light_presolve=s.light_presolve)


def check_policies(names: Sequence[str]) -> list[str]:
    out = []
    for n in names:
        n = n.strip()
        if n not in POLICY_NAMES:
            raise ValueError(f"--policy: unknown policy {n!r}; choose from "
                             f"{', '.join(POLICY_NAMES)}")
        if n not in out:
            out.append(n)
    if not out:
        raise ValueError("--policy: name at least one policy")
    return out


def run_policies(config: SimConfig, policies: Sequence[str], *, seed: int | None = None,
                 progress: Progress | None = None, solver: Planner | None = None,
                 market: Market | None = None) -> list[PolicyRun]:
    """Simulate each policy on the same market (same seed, same orders, same outages)."""
    names = check_policies(policies)
    market = market or generate(config, seed)
    days = -(-market.end_min // (24 * 60))
    out = []
    for name in names:
        policy = make_policy(name, solve_options(config), solver,
                             due_margin=config.solver.due_margin,
                             congestion_per_hour=config.solver.congestion_per_hour,
                             scarcity_markup=config.solver.scarcity_markup,
                             scarcity_relative=config.solver.scarcity_relative)

        def on_day(day: int, name: str = name) -> None:
            if progress is not None:
                progress(name, day, days)

        result = simulate(market, policy,
                          lookahead_after_due_min=lookahead_min(
                              config.solver.lookahead_after_due_days),
                          batch_min=config.solver.batch_min, on_day=on_day)
        if progress is not None:
            progress(name, days, days)
        out.append(PolicyRun(result=result, kpis=compute(result)))
    return out


def write_outputs(runs: Sequence[PolicyRun], out_dir: Path, *, title: str = "",
                  report: bool = True) -> list[Path]:
    """Write the CSVs and the HTML report; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    kpis_path = out_dir / "kpis.csv"
    kpis_path.write_text(to_csv([r.kpis for r in runs], KPI_COLUMNS), encoding="utf-8")
    written.append(kpis_path)
    util_path = out_dir / "utilization.csv"
    util_path.write_text(to_csv([row for r in runs for row in utilization_rows(r.result)]),
                         encoding="utf-8")
    written.append(util_path)
    for r in runs:
        p = out_dir / f"events_{r.kpis.policy}.csv"
        p.write_text(events_csv(r.result), encoding="utf-8")
        written.append(p)
        p = out_dir / f"orders_{r.kpis.policy}.csv"
        p.write_text(to_csv(order_outcomes(r.result)), encoding="utf-8")
        written.append(p)
    if report:
        from simulations.report import render_report

        html_path = out_dir / "report.html"
        html_path.write_text(render_report(runs, title=title), encoding="utf-8")
        written.append(html_path)
    return written
