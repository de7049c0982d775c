"""bench.checked: every plan a benchmark uses passes the independent checker, or the bench stops."""

from __future__ import annotations

import dataclasses

import pytest

from bench.checked import CheckedSolve, PlanRejectedError
from domain.model import Plan, Scenario
from matching.engine import solve
from tests.matching.builders import booking, factory, order, resource, scenario, step


def _market(*bookings_h: tuple[float, float]) -> Scenario:
    return scenario([factory("F1", resource("F1-M1"))], [order("O1", quantity=60)],
                    bookings=tuple(booking(f"B{i}", "F1-M1", s, e)
                                   for i, (s, e) in enumerate(bookings_h)))


def test_checked_solve__overlapping_bookings_of_a_simulation_are_not_the_plans_fault() -> None:
    # a lot running late (0-3 h) and the next one planned (2-4 h): the plan must avoid both
    checked = CheckedSolve()
    plan = checked(_market((0, 3), (2, 4)))
    assert checked.plans == 1
    assert plan.order("O1").allocations[0].start >= booking("x", "F1-M1", 4, 5).start


def test_checked_solve__a_plan_over_a_booking_stops_the_benchmark() -> None:
    def over_the_booking(s: Scenario, **kwargs: object) -> Plan:
        return solve(dataclasses.replace(s, bookings=()))  # ignores the bookings

    with pytest.raises(PlanRejectedError, match="F1-M1"):
        CheckedSolve(engine=over_the_booking)(_market((0, 3), (2, 4)))


def _full_line() -> Scenario:
    # a service line of capacity 2 with three lots at 0-3 h (one running late on the floor):
    # full by its bookings alone, and no one-lot machine in the market
    line = resource("F1-V", "inspection.visual", capacity=2)
    return scenario([factory("F1", line)],
                    [order("O1", step("s1", "inspection.visual"), quantity=60)],
                    bookings=(booking("B1", "F1-V", 0, 3), booking("B2", "F1-V", 0, 3),
                              booking("B3", "F1-V", 1, 2)))


def test_checked_solve__a_service_line_full_by_its_bookings_is_not_the_plans_fault() -> None:
    # the 13 rejected plans of the benchmark: the lot runs after the full span, yet the old
    # check counted the bookings' own excess against the plan
    checked = CheckedSolve()
    plan = checked(_full_line())
    assert plan.order("O1").allocations[0].start >= booking("x", "F1-V", 3, 4).start
    assert checked.rejected == 0


def test_checked_solve__a_lot_inside_a_full_span_of_a_service_line_is_rejected() -> None:
    def into_the_full_span(s: Scenario, **kwargs: object) -> Plan:
        return solve(dataclasses.replace(s, bookings=()))  # lot at 0-1 h, where 3 run already

    with pytest.raises(PlanRejectedError, match=r"F1-V runs more than 2 .*1 lots of the plan"):
        CheckedSolve(engine=into_the_full_span)(_full_line())
