"""What a lot costs under each pricing mode (分时 / 计件 / 按价值计价).

Assumptions, stated once here so quotes, the solver and the plan checker agree:
- time_share bills the booked time, setup included, pro rata by the minute;
- per_piece bills good pieces only, setup is the factory's own cost;
- by_value bills a percentage of the part of the order's value that the step adds, which we
  apportion by the step's share of the routing's minutes per piece, and split across lots by
  quantity. An order without a value (``value`` 0) has nothing to take a percentage of, so
  by_value is not offered to it at all (it would price every lot 0.00 CNY).
"""

from __future__ import annotations

from domain.model import Order, PricingMode, Resource, Step


def offered_modes(resource: Resource, order: Order) -> tuple[PricingMode, ...]:
    """The modes ``resource`` offers ``order``: by_value only when the order has a value."""
    modes = resource.pricing.offered()
    if order.value > 0:
        return modes
    return tuple(mode for mode in modes if mode is not PricingMode.BY_VALUE)


def step_value_cny(order: Order, step: Step) -> float:
    """The share of the order's value apportioned to ``step`` (by work content)."""
    total = sum(s.minutes_per_piece for s in order.steps)
    if total <= 0:
        return order.value / len(order.steps)
    return order.value * step.minutes_per_piece / total


def lot_cost_cny(
    mode: PricingMode,
    resource: Resource,
    order: Order,
    step: Step,
    quantity: int,
    duration_min: int,
) -> float | None:
    """Price of one lot under ``mode``; None when the resource does not offer that mode."""
    p = resource.pricing
    if mode is PricingMode.TIME_SHARE:
        if p.time_share_per_hour is None:
            return None
        return p.time_share_per_hour * duration_min / 60.0
    if mode is PricingMode.PER_PIECE:
        if p.per_piece is None:
            return None
        return p.per_piece * quantity
    if mode is PricingMode.BY_VALUE:
        if p.by_value_pct is None or order.value <= 0:
            return None
        return p.by_value_pct / 100.0 * step_value_cny(order, step) * quantity / order.quantity
    best = cheapest_mode(resource, order, step, quantity, duration_min)
    return None if best is None else best[1]


def cheapest_mode(
    resource: Resource, order: Order, step: Step, quantity: int, duration_min: int
) -> tuple[PricingMode, float] | None:
    """The resource's cheapest offered mode for this lot, ties broken in enum order."""
    best: tuple[PricingMode, float] | None = None
    for mode in offered_modes(resource, order):
        cost = lot_cost_cny(mode, resource, order, step, quantity, duration_min)
        if cost is not None and (best is None or cost < best[1] - 1e-9):
            best = (mode, cost)
    return best


def resolve_mode(
    order: Order, resource: Resource, step: Step, quantity: int, duration_min: int
) -> tuple[PricingMode, float] | None:
    """Mode and cost the order pays on this resource: its own mode, or the cheapest offered."""
    if order.pricing is PricingMode.CHEAPEST:
        return cheapest_mode(resource, order, step, quantity, duration_min)
    cost = lot_cost_cny(order.pricing, resource, order, step, quantity, duration_min)
    return None if cost is None else (order.pricing, cost)
