"""The reliability term: credit prices risk in the choice, not in the quoted price."""

from __future__ import annotations

import dataclasses

from domain.model import Factory, OrderStatus
from matching.engine import quote
from matching.reliability import risk_factor
from tests.matching.builders import factory, order, resource, scenario


def _pair(rate_a: float, rate_b: float, credit_a: float | None,
          credit_b: float | None) -> list[Factory]:
    a = dataclasses.replace(factory("FA", resource("FA-R1", rate=rate_a)), credit=credit_a)
    b = dataclasses.replace(factory("FB", resource("FB-R1", rate=rate_b)), credit=credit_b)
    return [a, b]


def _factories(plan_allocations: object) -> set[str]:
    return {a.factory for a in plan_allocations}  # type: ignore[attr-defined]


def test_risk_factor__unknown_credit_carries_no_risk():
    assert risk_factor(factory("F")) == 1.0
    assert risk_factor(dataclasses.replace(factory("F"), credit=1.0)) == 1.0
    assert risk_factor(dataclasses.replace(factory("F"), credit=0.0)) > 1.2


def test_quote__equal_prices_the_reliable_factory_wins():
    for credits in ((0.5, 0.9), (0.9, 0.5)):
        s = scenario(_pair(60.0, 60.0, *credits), [order("O1", quantity=60, max_factories=1)])
        cheapest = quote(s, "O1")[0]
        assert cheapest.plan.status is OrderStatus.PLANNED
        winner = "FA" if credits[0] > credits[1] else "FB"
        assert _factories(cheapest.plan.allocations) == {winner}
        assert cheapest.cost_breakdown["processing"] == 60.0  # the real price, no risk added


def test_quote__a_clearly_cheaper_unreliable_factory_still_wins():
    s = scenario(_pair(40.0, 60.0, 0.5, 0.9), [order("O1", quantity=60, max_factories=1)])
    assert _factories(quote(s, "O1")[0].plan.allocations) == {"FA"}


def test_quote__min_credit_leaves_out_factories_below_it():
    o = dataclasses.replace(order("O1", quantity=60, max_factories=1), min_credit=0.7)
    s = scenario(_pair(40.0, 60.0, 0.5, 0.9), [o])
    assert _factories(quote(s, "O1")[0].plan.allocations) == {"FB"}
    too_high = dataclasses.replace(o, min_credit=0.95)
    refused = quote(scenario(_pair(40.0, 60.0, 0.5, 0.9), [too_high]), "O1")[0]
    assert refused.plan.status is OrderStatus.UNMATCHED
    assert "credit >= 0.95" in (refused.plan.reason or "")
