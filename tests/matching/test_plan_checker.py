"""The independent checker must catch broken plans, or its silence on good ones means nothing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from domain.model import Allocation, Plan, Scenario
from tests.matching.builders import factory, order, resource, scenario, step
from tests.matching.conftest import checked_solve
from tests.matching.plan_checker import check_plan


def _planned() -> tuple[Scenario, Plan]:
    s = scenario([factory("F1", resource("F1-L", "cutting.laser")),
                  factory("F2", resource("F2-M", windows=((0, 10),)), lat=30.2, lon=120.2)],
                 [order("O1", step("s1", "cutting.laser"), step("s2", after=("s1",)),
                        quantity=60)])
    return s, checked_solve(s, "greedy")


def _with_allocations(plan: Plan, allocations: tuple[Allocation, ...]) -> Plan:
    return dataclasses.replace(plan, orders=(dataclasses.replace(plan.orders[0],
                                                                 allocations=allocations),))


def test_checker__flags_a_lot_moved_before_the_truck_arrives() -> None:
    s, plan = _planned()
    allocs = list(plan.orders[0].allocations)
    i = next(k for k, a in enumerate(allocs) if a.step == "s2")
    early = timedelta(minutes=30)
    allocs[i] = dataclasses.replace(allocs[i], start=allocs[i].start - early,
                                    end=allocs[i].end - early)
    errors = check_plan(s, _with_allocations(plan, tuple(allocs)))
    assert any("truck arrives" in e for e in errors)


def test_checker__flags_wrong_cost_and_quantity() -> None:
    s, plan = _planned()
    a0 = plan.orders[0].allocations[0]
    bad = dataclasses.replace(a0, cost=a0.cost + 5, quantity=a0.quantity - 1)
    errors = check_plan(s, _with_allocations(plan, (bad, *plan.orders[0].allocations[1:])))
    assert any("cost" in e for e in errors)
    assert any("sum to" in e for e in errors)


def test_checker__flags_a_lot_outside_its_windows() -> None:
    s, plan = _planned()
    allocs = list(plan.orders[0].allocations)
    i = next(k for k, a in enumerate(allocs) if a.resource == "F2-M")
    late = timedelta(hours=12)
    allocs[i] = dataclasses.replace(allocs[i], start=allocs[i].start + late,
                                    end=allocs[i].end + late)
    errors = check_plan(s, _with_allocations(plan, tuple(allocs)))
    assert any("window" in e for e in errors)
