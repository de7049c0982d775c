"""The read-only problem the deciders work on: a scenario turned into integer facts.

Facts (this module), decisions (``cpsat_model`` variables, ``greedy`` choices) and the solution
(``solution.Solution``) stay apart. Times are minutes from ``horizon_start``; money inside the
solver is in fen (0.01 CNY) per lot, rounded, and recomputed exactly when the plan is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from domain.geo import road_km
from domain.model import Objective, PricingMode, Transport
from scheduling.intervals import Interval

# Objective units: 1 CNY = 6000 units, so that a fen of cost (x60) and a minute of a per-hour
# weight in CNY (x100) are both whole numbers.
UNITS_PER_CNY = 6000


@dataclass(frozen=True, slots=True)
class PriceTerm:
    """One pricing mode of a resource for a step, linear in the lot: fen per min and per piece."""

    mode: PricingMode
    fen_per_min: int = 0
    fen_per_piece: int = 0

    def fen(self, quantity: int, duration_min: int) -> int:
        return self.fen_per_min * duration_min + self.fen_per_piece * quantity


@dataclass(frozen=True, slots=True)
class Option:
    """Running one step on one resource: setup, run rate and price terms.

    Run time of q pieces is ``ceil(q * run_num / run_den)`` minutes; ``run_num / run_den`` is
    minutes_per_piece / speed, exact or rounded up to 1/1000 min, so the model never books less
    time than the exact rule needs.
    """

    resource: str
    factory: str
    setup_min: int
    run_num: int
    run_den: int
    prices: tuple[PriceTerm, ...] = ()

    def duration_min(self, quantity: int) -> int:
        return self.setup_min + -(-quantity * self.run_num // self.run_den)

    def cost_fen(self, quantity: int) -> int:
        """Cheapest of the offered terms for a lot of ``quantity``."""
        d = self.duration_min(quantity)
        return min((p.fen(quantity, d) for p in self.prices), default=0)


def run_rate(minutes_per_piece: float, speed: float) -> tuple[int, int]:
    """minutes_per_piece / speed as a fraction with denominator <= 1000, never rounded down."""
    exact = minutes_per_piece / speed
    for den in (1, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100, 200, 250, 500, 1000):
        num = round(exact * den)
        if abs(num - exact * den) < 1e-9 * den:
            return num, den
    return math.ceil(exact * 1000 - 1e-9), 1000


@dataclass(frozen=True, slots=True)
class ResourceFacts:
    """Where lots may run on a resource.

    ``free`` are the intervals a lot must fit inside; ``load`` are fixed (start, end, demand)
    blocks the no-overlap / cumulative constraint must respect (gaps between free intervals,
    and on a service line the slots existing bookings take).
    """

    id: str
    factory: str
    capacity: int
    free: tuple[Interval, ...]
    load: tuple[tuple[int, int, int], ...] = ()

    def span(self) -> Interval:
        return (self.free[0][0], self.free[-1][1]) if self.free else (0, 0)


@dataclass(frozen=True, slots=True)
class StepFacts:
    id: str
    process: str
    after: tuple[str, ...]
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """One order as the deciders see it; ``steps`` in topological order."""

    id: str
    quantity: int
    min_lot: int
    max_factories: int
    due_min: int
    steps: tuple[StepFacts, ...]

    def step(self, step_id: str) -> StepFacts:
        return next(s for s in self.steps if s.id == step_id)

    def lot_floor(self) -> int:
        """Smallest lot allowed: min_lot, unless the whole order is smaller."""
        return max(1, min(self.min_lot, self.quantity))


@dataclass(frozen=True, slots=True)
class Haul:
    """Road trip between two factories: distance, driving minutes and cost in fen."""

    km: float
    minutes: int
    cost_fen: int


_SAME_SITE = Haul(0.0, 0, 0)


@dataclass(frozen=True, slots=True)
class Weights:
    """Integer objective weights: per fen of cost, per minute of tardiness and of makespan,
    and per late order (one yuan is 6,000 units in each)."""

    cost: int
    tardiness: int
    makespan: int
    late_order: int = 0

    @classmethod
    def of(cls, objective: Objective) -> Weights:
        return cls(cost=round(objective.cost * 60),
                   tardiness=round(objective.tardiness_per_hour * 100),
                   makespan=round(objective.makespan_per_hour * 100),
                   late_order=round(objective.late_order_penalty * 6000))


@dataclass(frozen=True)
class Problem:
    """Everything the deciders need, nothing they decide."""

    horizon: int
    resources: dict[str, ResourceFacts]
    orders: tuple[OrderFacts, ...]
    weights: Weights
    max_lots_per_step: int = 3
    # Factory locations and the haulage terms; legs are computed on first use and cached.
    sites: dict[str, tuple[float, float]] = field(default_factory=dict)
    transport: Transport = field(default_factory=Transport)
    legs: dict[tuple[str, str], Haul] = field(default_factory=dict)
    # Orders a pre-check already refused: id -> reason for a person.
    refused: dict[str, str] = field(default_factory=dict)

    def leg(self, from_factory: str, to_factory: str) -> Haul:
        if from_factory == to_factory:
            return _SAME_SITE
        key = (from_factory, to_factory)
        leg = self.legs.get(key)
        if leg is None:
            (a_lat, a_lon), (b_lat, b_lon) = self.sites[from_factory], self.sites[to_factory]
            km = road_km(a_lat, a_lon, b_lat, b_lon)
            t = self.transport
            leg = self.legs[key] = Haul(km, t.duration_min(km), round(t.cost_cny(km) * 100))
        return leg

    def max_lots(self, order: OrderFacts) -> int:
        return max(1, min(self.max_lots_per_step, order.quantity // order.lot_floor()))
