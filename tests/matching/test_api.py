"""solve() in batch mode, determinism, quote() alternatives, bad input."""

from __future__ import annotations

import pytest

from bench.market_gen import generate
from domain.model import Factory, Order, OrderStatus, Plan, SolverInfo
from matching.engine import SolveOptions, quote, solve
from matching.plan import cost_breakdown
from tests.matching.builders import factory, order, resource, scenario, step
from tests.matching.conftest import checked_solve
from tests.matching.plan_checker import check_plan


def _market() -> list[Factory]:
    return [factory("F1", resource("F1-L", "cutting.laser", rate=90, per_piece=0.8),
                    resource("F1-M", rate=150, windows=((0, 20), (24, 44)))),
            factory("F2", resource("F2-M", rate=90, windows=((8, 40),)),
                    resource("F2-M2", rate=200), lat=30.3, lon=120.4)]


def _orders(n: int) -> list[Order]:
    return [order(f"O{i}", step("s1", "cutting.laser", mpp=0.5, setup_min=10),
                  step("s2", mpp=3.0, setup_min=20, after=("s1",)),
                  quantity=100 + 40 * i, due_h=30 + 4 * i, min_lot=20) for i in range(n)]


def test_batch__impossible_order_does_not_sink_the_others(policy: str) -> None:
    bad = order("BAD", step("s1", "surface.anodizing"), quantity=10)
    s = scenario(_market(), [*_orders(2), bad])
    plan = checked_solve(s, policy)
    assert plan.order("BAD").status is OrderStatus.UNMATCHED
    assert "surface.anodizing" in (plan.order("BAD").reason or "")
    assert all(plan.order(f"O{i}").status is OrderStatus.PLANNED for i in range(2))


def test_batch__cpsat_is_no_worse_than_greedy() -> None:
    s = scenario(_market(), _orders(3))
    greedy = checked_solve(s, "greedy")
    cpsat = checked_solve(s, "cpsat", time_limit_s=2.0)

    def objective(plan: Plan) -> float:
        return sum(o.total_cost + o.lateness_min / 60 * 50.0 for o in plan.orders)

    assert all(o.status is OrderStatus.PLANNED for o in cpsat.orders)
    assert objective(cpsat) <= objective(greedy) + 0.05


def test_batch__order_squeezed_out_by_capacity_gets_a_reason() -> None:
    # one machine, 2 h window, two orders of 90 min each: only one fits
    s = scenario([factory("F1", resource("F1-M1", windows=((0, 2),)))],
                 [order("O1", quantity=90), order("O2", quantity=90)])
    plan = checked_solve(s, "cpsat")
    statuses = sorted(o.status.value for o in plan.orders)
    assert statuses == ["planned", "unmatched"]
    lost = next(o for o in plan.orders if o.status is OrderStatus.UNMATCHED)
    assert "other orders" in (lost.reason or "")


def test_determinism__one_worker_and_deterministic_time_repeat_exactly() -> None:
    s = scenario(_market(), _orders(3))
    opts = SolveOptions(time_limit_s=30.0, workers=1, seed=3, deterministic_time_s=0.5)
    first, second = solve(s, options=opts), solve(s, options=opts)
    assert first.orders == second.orders
    assert first.solver.objective == second.solver.objective
    assert not check_plan(s, first)


def test_quote__three_alternatives_ordered_by_their_goal() -> None:
    s = scenario(_market(), _orders(1))
    quotes = quote(s, "O0", options=SolveOptions(time_limit_s=1.5))
    assert [q.kind for q in quotes] == ["cheapest", "fastest", "balanced"]
    for q in quotes:
        assert q.plan.status is OrderStatus.PLANNED
        b = q.cost_breakdown
        assert b["processing"] + b["transport"] == pytest.approx(q.plan.total_cost, abs=0.02)
        assert b["total"] == pytest.approx(b["processing"] + b["transport"]
                                           + b["tardiness_penalty"], abs=0.02)
    cheapest, fastest, _balanced = quotes
    assert cheapest.cost_breakdown["total"] <= min(q.cost_breakdown["total"] for q in quotes) + 0.05
    assert fastest.plan.completion == min(q.plan.completion for q in quotes
                                          if q.plan.completion is not None)
    one = scenario(_market(), [s.orders[0]])
    for q in quotes:
        assert not check_plan(one, Plan((q.plan,), SolverInfo("FEASIBLE")))


def test_quote__against_existing_bookings_and_unknown_order() -> None:
    s = scenario(_market(), _orders(1))
    with pytest.raises(ValueError, match="order_id"):
        quote(s, "nope")


def test_quote__impossible_order_comes_back_unmatched_with_reason() -> None:
    s = scenario(_market(), [order("O1", step("s1", "surface.anodizing"))])
    quotes = quote(s, "O1")
    assert {q.plan.status for q in quotes} == {OrderStatus.UNMATCHED}
    assert "no capable resource for step s1 'surface.anodizing'" in (quotes[0].plan.reason or "")


def test_solve__unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="policy"):
        solve(scenario(_market(), []), policy="magic")  # type: ignore[arg-type]


def test_quote__cheapest_never_worse_than_greedy_on_a_generated_market() -> None:
    s = generate(300, 1, seed=3)
    opts = SolveOptions(time_limit_s=0.3, candidates_per_step=8)
    baseline = solve(s, policy="greedy", options=opts).order("O1")
    cheapest = quote(s, "O1", options=opts)[0]
    assert not check_plan(s, Plan((cheapest.plan,), SolverInfo("FEASIBLE")))
    if baseline.status is OrderStatus.PLANNED:
        assert cheapest.plan.status is OrderStatus.PLANNED
        assert cheapest.cost_breakdown["total"] <= cost_breakdown(s, baseline)["total"] + 0.01


def test_solve_options__bad_budget_names_the_field() -> None:
    with pytest.raises(ValueError, match="time_limit_s"):
        SolveOptions(time_limit_s=0)
    with pytest.raises(ValueError, match="candidates_per_step"):
        SolveOptions(candidates_per_step=0)
