"""Per-resource cycle times (step ``minutes_per_piece_on``, ``only_on``): each decider, the plan,
the cost and the independent checker honour them; the scenario format round-trips them."""

from __future__ import annotations

import dataclasses

from domain.model import OrderStatus, Scenario, Step
from domain.schemas import dump_scenario, parse_scenario
from matching.engine import SolveOptions, solve
from tests.matching import builders as b
from tests.matching.plan_checker import check_plan

FAST = SolveOptions(time_limit_s=5.0, workers=2)


def _scenario(step: Step, *, speed_slow: float = 1.0) -> Scenario:
    """Two mills in one factory, 60 pieces, 60 CNY/h each; only the step says which is faster."""
    slow = b.resource("R-slow", speed=speed_slow)
    fast = b.resource("R-fast")
    return b.scenario([b.factory("F1", slow, fast)], [b.order("O1", step, quantity=60)])


def _own(**minutes: float) -> tuple[tuple[str, float], ...]:
    return tuple((f"R-{k}", v) for k, v in minutes.items())


def test_own_cycle_time__lot_lasts_the_resource_s_own_time_and_costs_it() -> None:
    step = dataclasses.replace(b.step("s1", mpp=2.0), minutes_per_piece_on=_own(fast=0.5))
    for policy in ("greedy", "cpsat"):
        plan = solve(_scenario(step), policy=policy, options=FAST)  # type: ignore[arg-type]
        assert check_plan(_scenario(step), plan) == []
        (order,) = plan.orders
        assert order.status is OrderStatus.PLANNED
        (lot,) = order.allocations
        assert lot.resource == "R-fast"  # 30 min there against 120 on the default
        assert (lot.end - lot.start).total_seconds() == 30 * 60
        assert lot.cost == 30.0  # 60 CNY/h x 0.5 h


def test_own_cycle_time__speed_is_not_applied_again() -> None:
    # R-slow runs at speed 4 (2.0 / 4 = 0.5 min/piece by default) but names its own 1.5.
    step = dataclasses.replace(b.step("s1", mpp=2.0), minutes_per_piece_on=_own(slow=1.5),
                               only_on=("R-slow",))
    plan = solve(_scenario(step, speed_slow=4.0), policy="greedy", options=FAST)
    (lot,) = plan.orders[0].allocations
    assert (lot.end - lot.start).total_seconds() == 90 * 60


def test_only_on__forbids_the_other_capable_resources() -> None:
    step = dataclasses.replace(b.step("s1", mpp=2.0), minutes_per_piece_on=_own(fast=0.5),
                               only_on=("R-slow",))
    for policy in ("greedy", "cpsat"):
        plan = solve(_scenario(step), policy=policy, options=FAST)  # type: ignore[arg-type]
        (lot,) = plan.orders[0].allocations
        assert lot.resource == "R-slow"
        assert (lot.end - lot.start).total_seconds() == 120 * 60


def test_only_on__no_listed_resource_is_unmatched_with_a_reason() -> None:
    step = dataclasses.replace(b.step("s1"), only_on=("R-elsewhere",))
    plan = solve(_scenario(step), policy="cpsat", options=FAST)
    (order,) = plan.orders
    assert order.status is OrderStatus.UNMATCHED
    assert order.reason is not None
    assert "only_on" in order.reason


def test_checker__rejects_a_lot_timed_by_the_default_where_the_resource_names_its_own() -> None:
    step = dataclasses.replace(b.step("s1", mpp=2.0), minutes_per_piece_on=_own(fast=0.5))
    scenario = _scenario(step)
    plan = solve(scenario, policy="greedy", options=FAST)
    # The same plan judged against a scenario without the extension: 30 min is now too short.
    plain = dataclasses.replace(scenario, orders=(dataclasses.replace(
        scenario.orders[0], steps=(b.step("s1", mpp=2.0),)),))
    assert any("rule says 120" in e for e in check_plan(plain, plan))
    forbidden = dataclasses.replace(scenario, orders=(dataclasses.replace(
        scenario.orders[0], steps=(dataclasses.replace(step, only_on=("R-slow",)),)),))
    assert any("may only run on R-slow" in e for e in check_plan(forbidden, plan))


def test_scenario_format__extension_round_trips_and_is_left_out_while_empty() -> None:
    step = dataclasses.replace(b.step("s1", mpp=2.0), minutes_per_piece_on=_own(fast=0.5),
                               only_on=("R-fast", "R-slow"))
    with_ext = dump_scenario(_scenario(step))
    assert with_ext["orders"][0]["steps"][0]["minutes_per_piece_on"] == {"R-fast": 0.5}
    assert parse_scenario(with_ext) == _scenario(step)
    plain = dump_scenario(_scenario(b.step("s1")))
    assert "minutes_per_piece_on" not in plain["orders"][0]["steps"][0]
    assert "only_on" not in plain["orders"][0]["steps"][0]
