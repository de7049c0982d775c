"""The cheapest-first greedy (CP-SAT's cheapest hint) prices the tardiness of the whole order."""

from __future__ import annotations

from matching.build import build_problem
from matching.greedy import greedy, tail_min
from tests.matching.builders import factory, order, resource, scenario, step

TURN = "machining.cnc_turning"


def _two_steps(late_order_penalty: float = 0.0):  # type: ignore[no-untyped-def]
    # s1 (60 min): cheap mill free from 1 h, dear mill free at once; s2 (60 min of turning)
    # must follow. Due at 2 h: only the dear mill leaves s2 the hour it needs.
    s = scenario([factory("F1", resource("F1-cheap", rate=10, windows=((1, 48),)),
                          resource("F1-dear", rate=100, windows=((0, 48),)),
                          resource("F1-lathe", TURN, rate=60, windows=((0, 48),)))],
                 [order("O1", step("s1"), step("s2", TURN, after=("s1",)), quantity=60,
                        due_h=2, min_lot=60)],
                 late_order_penalty=late_order_penalty)
    return build_problem(s, max_lots_per_step=1)


def test_tail_min__longest_chain_of_following_steps_on_their_fastest_option() -> None:
    problem = _two_steps()
    o = problem.orders[0]
    assert (tail_min(problem, o, "s1"), tail_min(problem, o, "s2")) == (60, 0)


def test_cheapest_first__a_lot_that_makes_the_order_late_is_priced_as_late() -> None:
    # cheap: 10 CNY + 60 min late (50 CNY) + 100 CNY penalty > dear 100 CNY on time
    got = greedy(_two_steps(late_order_penalty=100.0), cheapest_first=True)
    assert {lot.resource for lot in got.lots if lot.step == "s1"} == {"F1-dear"}


def test_cheapest_first__without_a_late_price_the_cheap_lot_still_wins() -> None:
    got = greedy(_two_steps(), cheapest_first=True)
    assert {lot.resource for lot in got.lots if lot.step == "s1"} == {"F1-cheap"}
