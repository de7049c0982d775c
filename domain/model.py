"""The shared vocabulary of the platform as plain, immutable data.

Facts (factories, resources, windows, orders, steps) and results (plans, allocations) are kept
apart: the solver reads the first and writes the second, and neither does I/O. Times are aware
UTC datetimes here; the solver alone turns them into integer minutes from ``horizon_start``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class PricingMode(StrEnum):
    """How a resource charges for a lot (分时 / 计件 / 按价值计价)."""

    TIME_SHARE = "time_share"
    PER_PIECE = "per_piece"
    BY_VALUE = "by_value"
    # Order-side only: take each resource's cheapest offered mode.
    CHEAPEST = "cheapest"


class OrderStatus(StrEnum):
    PLANNED = "planned"
    UNMATCHED = "unmatched"


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open idle interval [start, end) a resource offers to the platform."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"window end {self.end.isoformat()} is not after start")

    def duration_min(self) -> float:
        return (self.end - self.start).total_seconds() / 60.0


@dataclass(frozen=True, slots=True)
class Pricing:
    """The price offers of one resource; a None mode is not offered."""

    time_share_per_hour: float | None = None
    per_piece: float | None = None
    by_value_pct: float | None = None

    def offered(self) -> tuple[PricingMode, ...]:
        modes = []
        if self.time_share_per_hour is not None:
            modes.append(PricingMode.TIME_SHARE)
        if self.per_piece is not None:
            modes.append(PricingMode.PER_PIECE)
        if self.by_value_pct is not None:
            modes.append(PricingMode.BY_VALUE)
        return tuple(modes)


@dataclass(frozen=True, slots=True)
class Capability:
    """What a resource can do: a process on some materials."""

    process: str
    materials: tuple[str, ...]

    def fits(self, process: str, material: str) -> bool:
        return self.process == process and (not self.materials or material in self.materials)


@dataclass(frozen=True, slots=True)
class Resource:
    """A machine (capacity 1) or a service line (capacity > 1: lots side by side)."""

    id: str
    process: str
    capacity: int = 1
    materials: tuple[str, ...] = ()
    speed: float = 1.0
    setup_min: int = 0
    pricing: Pricing = field(default_factory=Pricing)
    windows: tuple[Window, ...] = ()

    @property
    def capability(self) -> Capability:
        return Capability(process=self.process, materials=self.materials)

    def run_min(self, quantity: int, minutes_per_piece: float) -> int:
        """Run time without setup: ceil(q * minutes_per_piece / speed) (docs/formats.md)."""
        # Round before ceil so 0.1 * 30 = 3.0000000000000004 does not become 4 minutes.
        return math.ceil(round(quantity * minutes_per_piece / self.speed, 6))

    def run_min_of(self, quantity: int, step: Step) -> int:
        """Run time of a lot of ``step`` here: the step's cycle time on this resource when it
        names one (a measured cycle time: speed is not applied again), else run_min."""
        own = step.own_minutes_per_piece(self.id)
        if own is None:
            return self.run_min(quantity, step.minutes_per_piece)
        return math.ceil(round(quantity * own, 6))


@dataclass(frozen=True, slots=True)
class Factory:
    id: str
    name: str
    park: str
    lat: float
    lon: float
    rating: float = 0.0
    certifications: tuple[str, ...] = ()
    resources: tuple[Resource, ...] = ()
    # The platform's credit score in [0, 1] from the factory's own record, set by the
    # platform's snapshot (services.ratings.credit), never by the factory's own document:
    # not part of the scenario JSON. None: unknown, and the matcher then charges no risk.
    credit: float | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One process step of an order's routing; ``after`` lists the steps it waits for."""

    id: str
    process: str
    minutes_per_piece: float
    setup_min: int = 0
    after: tuple[str, ...] = ()
    # Extensions (docs/formats.md#scenario): cycle times differ by machine, so a step may name
    # a resource's own minutes per piece (resource id, minutes), used there instead of
    # minutes_per_piece / speed; and ``only_on`` may restrict it to named resources (empty: any
    # capable resource).
    minutes_per_piece_on: tuple[tuple[str, float], ...] = ()
    only_on: tuple[str, ...] = ()

    def own_minutes_per_piece(self, resource_id: str) -> float | None:
        """The resource's own cycle time for this step, if the step names one."""
        for rid, minutes in self.minutes_per_piece_on:
            if rid == resource_id:
                return minutes
        return None

    def may_run_on(self, resource_id: str) -> bool:
        return not self.only_on or resource_id in self.only_on


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    customer: str
    material: str
    quantity: int
    due: datetime
    value: float
    steps: tuple[Step, ...]
    pricing: PricingMode = PricingMode.CHEAPEST
    max_factories: int = 3
    min_lot: int = 1
    # Extensions of the scenario's order (docs/formats.md#scenario): candidate filters.
    certifications: tuple[str, ...] = ()
    parks: tuple[str, ...] = ()
    # Extension: factories whose known credit is below this are not candidates.
    min_credit: float | None = None

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"order {self.id} has no step {step_id!r}")


@dataclass(frozen=True, slots=True)
class Transport:
    """Inter-factory haulage: we assume a lot travels whole once it is done."""

    cost_per_km: float = 3.0
    speed_kmh: float = 40.0
    handling_min: int = 30

    def duration_min(self, km: float) -> int:
        if km <= 0:
            return 0
        return self.handling_min + math.ceil(km / self.speed_kmh * 60.0)

    def cost_cny(self, km: float) -> float:
        return round(km * self.cost_per_km, 2)


@dataclass(frozen=True, slots=True)
class Objective:
    """Weights of the soft goals, all in yuan: cost, tardiness and makespan per hour.

    ``late_order_penalty``: yuan per order that misses its due date at all, on top of the hourly
    tardiness. On-time delivery is judged per order (a day late or a minute late is late), and
    an hourly price alone lets a cheaper slot an hour past the due date win; 0 keeps the
    purely hourly objective.
    """

    cost: float = 1.0
    tardiness_per_hour: float = 50.0
    makespan_per_hour: float = 0.0
    late_order_penalty: float = 0.0


@dataclass(frozen=True, slots=True)
class Booking:
    """Time already sold on a resource; the matcher must not plan over it."""

    id: str
    resource: str
    start: datetime
    end: datetime
    order: str | None = None
    step: str | None = None
    quantity: int = 0


@dataclass(frozen=True, slots=True)
class Scenario:
    """A market snapshot plus the orders to place: the scenario of docs/formats.md#scenario."""

    horizon_start: datetime
    factories: tuple[Factory, ...]
    orders: tuple[Order, ...]
    transport: Transport = field(default_factory=Transport)
    objective: Objective = field(default_factory=Objective)
    bookings: tuple[Booking, ...] = ()

    def resources(self) -> dict[str, tuple[Factory, Resource]]:
        """Every resource by id, with its factory."""
        return {r.id: (f, r) for f in self.factories for r in f.resources}


@dataclass(frozen=True, slots=True)
class Allocation:
    """One lot: part of a step's quantity on one resource over [start, end)."""

    step: str
    factory: str
    resource: str
    quantity: int
    start: datetime
    end: datetime
    pricing: PricingMode
    cost: float


@dataclass(frozen=True, slots=True)
class TransportLeg:
    from_factory: str
    to_factory: str
    after_step: str
    before_step: str
    depart: datetime
    arrive: datetime
    km: float
    cost: float


@dataclass(frozen=True, slots=True)
class OrderPlan:
    id: str
    status: OrderStatus
    reason: str | None = None
    total_cost: float = 0.0
    completion: datetime | None = None
    lateness_min: int = 0
    allocations: tuple[Allocation, ...] = ()
    transports: tuple[TransportLeg, ...] = ()


@dataclass(frozen=True, slots=True)
class SolverInfo:
    status: str
    objective: float = 0.0
    bound: float = 0.0
    wall_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    """The plan of docs/formats.md#plan."""

    orders: tuple[OrderPlan, ...]
    solver: SolverInfo

    def order(self, order_id: str) -> OrderPlan:
        for o in self.orders:
            if o.id == order_id:
                return o
        raise KeyError(order_id)
