"""The tabu walk over the lot model (matching.walk) and where matching.engine.solve uses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.fjsp_market import to_scenario
from bench.market_gen import generate
from matching import engine
from matching.build import build_problem
from matching.engine import SolveOptions, solve
from matching.fjsp import parse_fjs
from matching.greedy import greedy
from matching.plan import plan_objective, to_plan
from matching.walk import WalkStats, walk
from tests.matching.plan_checker import check_plan

MK01 = Path(__file__).resolve().parents[2] / "bench/instances/brandimarte/mk01.fjs"


def test_walk__shortens_the_greedy_fjsp_schedule_and_keeps_a_valid_plan() -> None:
    scenario = to_scenario(parse_fjs(MK01.read_text()))
    problem = build_problem(scenario, keep_per_step=None, max_lots_per_step=3)
    start = greedy(problem)
    stats = WalkStats()
    better = walk(problem, start, 2.0, stats=stats)
    assert stats.improvements > 0
    assert max(x.end_min for x in better.lots) < max(x.end_min for x in start.lots)
    assert check_plan(scenario, to_plan(scenario, better)) == []


@pytest.mark.parametrize("seed", [1, 2])
def test_walk__market_with_windows_bookings_lines_and_trucks_stays_valid_and_no_worse(
        seed: int) -> None:
    """Multi-lot orders, service lines, bookings, day windows, several factories: every plan
    the walk returns passes the independent checker and costs no more than where it began."""
    scenario = generate(120, 12, seed=seed)
    problem = build_problem(scenario, keep_per_step=None, max_lots_per_step=3)
    start = greedy(problem)
    stats = WalkStats()
    found = walk(problem, start, 2.0, seed=seed, stats=stats)
    assert stats.decoded > 1
    plan = to_plan(scenario, found)
    assert check_plan(scenario, plan, max_lots=3) == []
    assert plan_objective(scenario, plan) <= plan_objective(scenario, to_plan(scenario, start)) \
        + 1e-6


def _record_walks(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    seen: list[float] = []
    real = engine.walk  # type: ignore[attr-defined]

    def spy(problem: Any, incumbent: Any, time_limit_s: float, **kw: Any) -> Any:
        seen.append(time_limit_s)
        return real(problem, incumbent, time_limit_s, **kw)

    monkeypatch.setattr(engine, "walk", spy)
    return seen


def test_solve__walks_when_the_budget_is_large_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _record_walks(monkeypatch)
    scenario = generate(120, 12, seed=3)
    plan = solve(scenario, options=SolveOptions(time_limit_s=3.0))
    assert check_plan(scenario, plan, max_lots=3) == []
    assert len(seen) == 1
    assert 0.5 < seen[0] < 3.0


def test_solve__no_walk_on_a_short_budget_or_a_repeatable_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _record_walks(monkeypatch)
    scenario = generate(60, 4, seed=4)
    solve(scenario, options=SolveOptions(time_limit_s=0.5))
    solve(scenario, options=SolveOptions(time_limit_s=3.0, workers=1,
                                         deterministic_time_s=0.5))
    solve(scenario, options=SolveOptions(time_limit_s=3.0, walk_share=0.0))
    assert seen == []


def test_solve_options__walk_share_out_of_range_refused() -> None:
    with pytest.raises(ValueError, match="walk_share"):
        SolveOptions(walk_share=0.9)
