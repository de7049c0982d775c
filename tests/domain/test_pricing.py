"""domain.pricing: what a lot costs, and which modes an order may be offered."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.model import Order, Pricing, PricingMode, Resource, Step
from domain.pricing import cheapest_mode, lot_cost_cny, offered_modes

STEP = Step(id="s1", process="machining.cnc_milling", minutes_per_piece=2.0)


def _order(value: float) -> Order:
    return Order(id="O1", customer="C1", material="al6061", quantity=10,
                 due=datetime(2026, 12, 3, tzinfo=UTC), value=value, steps=(STEP,))


def _resource(pricing: Pricing) -> Resource:
    return Resource(id="R1", process="machining.cnc_milling", pricing=pricing)


def test_offered_modes__by_value_needs_the_order_value():
    r = _resource(Pricing(time_share_per_hour=60.0, by_value_pct=10.0))
    assert offered_modes(r, _order(1000.0)) == (PricingMode.TIME_SHARE, PricingMode.BY_VALUE)
    assert offered_modes(r, _order(0.0)) == (PricingMode.TIME_SHARE,)


def test_lot_cost__by_value_without_value_is_not_a_free_lot():
    r = _resource(Pricing(by_value_pct=10.0))
    assert lot_cost_cny(PricingMode.BY_VALUE, r, _order(1000.0), STEP, 10, 20) == 100.0
    assert lot_cost_cny(PricingMode.BY_VALUE, r, _order(0.0), STEP, 10, 20) is None
    assert cheapest_mode(r, _order(0.0), STEP, 10, 20) is None
