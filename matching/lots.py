"""The lot rules every part of the engine shares: duration and price of one lot.

The solver, the greedy baseline, plan extraction and pricing all call these, so a plan's
durations and costs are computed one way only (the independent test checker re-derives them).
"""

from __future__ import annotations

from domain.model import Order, PricingMode, Resource, Step
from domain.pricing import resolve_mode


def lot_setup_min(resource: Resource, step: Step) -> int:
    """Setup time of a lot: the longer of the machine's and the step's setup.

    Business assumption: the scenario (docs/formats.md) gives a setup on both the resource
    (changeover of that machine) and the step (fixturing for this part). Both must happen before the
    first piece and a shop does them in parallel, so the lot pays the longer of the two, not the
    sum.
    """
    return max(resource.setup_min, step.setup_min)


def lot_duration_min(resource: Resource, step: Step, quantity: int) -> int:
    """Booked minutes of a lot of ``quantity`` pieces: setup + ceil(q * mpp / speed), or
    setup + ceil(q * the step's own minutes per piece on this resource) when it names one."""
    return lot_setup_min(resource, step) + resource.run_min_of(quantity, step)


def lot_price(order: Order, resource: Resource, step: Step,
              quantity: int) -> tuple[PricingMode, float] | None:
    """Mode and cost in CNY the order pays for this lot (None: resource lacks the order's mode)."""
    return resolve_mode(order, resource, step, quantity,
                        lot_duration_min(resource, step, quantity))


def minutes_per_piece_at_speed_1(resource: Resource, step: Step) -> tuple[float, float]:
    """(minutes per piece, speed) a lot of ``step`` runs at on ``resource``: the step's own cycle
    time there at speed 1 when it names one (docs/formats.md), else the step's at the
    resource's speed."""
    own = step.own_minutes_per_piece(resource.id)
    return (step.minutes_per_piece, resource.speed) if own is None else (own, 1.0)
