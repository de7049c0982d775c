"""bench.checked: every plan a benchmark uses passes the independent checker, or the bench stops."""

from __future__ import annotations

import dataclasses

import pytest

from bench.checked import CheckedSolve, PlanRejectedError
from domain.model import Plan, Scenario
from matching.engine import solve
from tests.matching.builders import booking, factory, order, resource, scenario


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
