"""The independent checker must catch broken plans, or its silence on good ones means nothing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from domain.model import Allocation, Plan, Scenario
from tests.matching.builders import at, booking, factory, order, resource, scenario, step
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


def _line_with_bookings(*spans_h: tuple[float, float]) -> Scenario:
    line = resource("F1-V", "inspection.visual", capacity=2)
    return scenario([factory("F1", line)],
                    [order("O1", step("s1", "inspection.visual"), quantity=60)],
                    bookings=tuple(booking(f"B{i}", "F1-V", s, e)
                                   for i, (s, e) in enumerate(spans_h)))


def _one_lot_at(s: Scenario, start_h: float) -> Plan:
    plan = checked_solve(dataclasses.replace(s, bookings=()), "greedy")
    a = plan.orders[0].allocations[0]
    shift = at(start_h) - a.start
    moved = _with_allocations(plan, (dataclasses.replace(a, start=a.start + shift,
                                                         end=a.end + shift),))
    return dataclasses.replace(moved, orders=(dataclasses.replace(
        moved.orders[0], completion=a.end + shift),))


def test_checker__allows_a_lot_beside_a_service_line_over_full_by_its_bookings() -> None:
    s = _line_with_bookings((0, 3), (0, 3), (1, 2))  # 3 bookings on 2 slots at 1-2 h
    assert check_plan(s, _one_lot_at(s, 3)) == []  # 3-4 h: the line is empty then


def test_checker__flags_a_lot_where_a_service_line_is_full() -> None:
    s = _line_with_bookings((0, 3), (2, 5))  # both slots taken at 2-3 h
    assert check_plan(s, _one_lot_at(s, 0)) == []  # 0-1 h: one slot free
    errors = check_plan(s, _one_lot_at(s, 1.5))  # 1.5-2.5 h: meets the full span
    assert any("F1-V runs more than 2" in e for e in errors)


def _across_midnight(windows: tuple[tuple[float, float], ...]) -> tuple[Scenario, Plan]:
    """One 60-piece lot (1 h) moved to run 23:30-00:30 on a machine with the given windows."""
    s = scenario([factory("F1", resource("F1-M", windows=windows))], [order("O1", quantity=60)])
    plan = checked_solve(s, "greedy")
    a = plan.orders[0].allocations[0]
    moved = dataclasses.replace(a, start=at(23.5), end=at(24.5))
    op = dataclasses.replace(plan.orders[0], allocations=(moved,), completion=at(24.5))
    return s, dataclasses.replace(plan, orders=(op,))


def test_checker__a_lot_may_run_from_one_window_into_the_next_that_touches_it() -> None:
    s, plan = _across_midnight(((0, 24), (24, 48)))
    assert check_plan(s, plan) == []


def test_checker__flags_a_lot_across_a_gap_between_windows() -> None:
    s, plan = _across_midnight(((0, 24), (24.25, 48)))
    assert any("window" in e for e in check_plan(s, plan))
