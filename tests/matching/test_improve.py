"""LNS over the general model (matching.improve, SolveOptions.improve_share)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fjsp_market import to_scenario
from matching.build import build_problem
from matching.cpsat import Budget
from matching.engine import SolveOptions, solve
from matching.fjsp import parse_fjs
from matching.greedy import greedy
from matching.improve import ImproveStats, improve
from matching.plan import to_plan
from tests.matching.plan_checker import check_plan

MK01 = Path(__file__).resolve().parents[2] / "bench/instances/brandimarte/mk01.fjs"


def _makespan(lots: tuple) -> int:  # type: ignore[type-arg]
    return max(x.end_min for x in lots)


def test_improve__beats_the_greedy_incumbent_and_keeps_a_valid_plan() -> None:
    scenario = to_scenario(parse_fjs(MK01.read_text()))
    problem = build_problem(scenario, keep_per_step=None, max_lots_per_step=3)
    start = greedy(problem)
    stats = ImproveStats()
    better = improve(problem, start, Budget(time_limit_s=4.0, workers=2), stats=stats)
    assert stats.steps > 0
    assert stats.improvements > 0
    assert _makespan(better.lots) < _makespan(start.lots)
    assert check_plan(scenario, to_plan(scenario, better)) == []


def test_solve__improve_share_path_returns_a_checked_plan_no_worse_than_greedy() -> None:
    scenario = to_scenario(parse_fjs(MK01.read_text()))
    plan = solve(scenario, options=SolveOptions(time_limit_s=4.0, improve_share=0.5))
    assert check_plan(scenario, plan) == []
    greedy_plan = solve(scenario, policy="greedy")
    assert max(o.completion for o in plan.orders if o.completion) <= max(
        o.completion for o in greedy_plan.orders if o.completion)


def test_solve_options__improve_share_outside_0_1_refused() -> None:
    with pytest.raises(ValueError, match="improve_share"):
        SolveOptions(improve_share=1.0)
