"""The scenario and plan formats of docs/formats.md as validated wire models.

These pydantic models are the one place where outside JSON is checked; every error names the
field. They convert to and from the plain dataclasses of ``domain.model`` that the rest of the
code works with. Field names are a contract: extend, never rename or drop.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from domain import model as m
from domain import processes
from domain.routing import RoutingError, topological_order

# Identifiers travel in MQTT topics and URLs: no slashes, wildcards or whitespace.
ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
Id = Annotated[str, Field(pattern=ID_PATTERN)]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp needs a timezone, e.g. 2026-12-01T08:00:00Z")
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """ISO 8601 UTC with a 'Z', seconds precision unless the value has microseconds."""
    value = value.astimezone(UTC)
    text = value.isoformat(timespec="seconds" if not value.microsecond else "microseconds")
    return text.replace("+00:00", "Z")


UtcDatetime = Annotated[
    datetime, AfterValidator(_utc), PlainSerializer(format_utc, return_type=str, when_used="json")
]


def _known_process(code: str) -> str:
    if not processes.is_known(code):
        family = code.split(".", 1)[0]
        near = [c for c in processes.PROCESSES if c.startswith(family + ".")]
        hint = f"; known in family {family!r}: {', '.join(near)}" if near else ""
        raise ValueError(f"unknown process code {code!r}{hint}")
    return code


ProcessCode = Annotated[str, AfterValidator(_known_process)]
# Prices, order values, transport and objective weights, CNY. Bounded: a resource priced
# 1e15/h made every quote of its process fail; a billion yuan is beyond any real lot, and
# keeps every product the matcher forms (price x hours x pieces) well inside a float.
MAX_MONEY_CNY = 1e9
Money = Annotated[float, Field(ge=0, le=MAX_MONEY_CNY, allow_inf_nan=False)]


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class WindowIn(Wire):
    start: UtcDatetime
    end: UtcDatetime

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"window end {format_utc(self.end)} must be after start "
                             f"{format_utc(self.start)}")
        return self

    def to_domain(self) -> m.Window:
        return m.Window(start=self.start, end=self.end)

    @classmethod
    def of(cls, w: m.Window) -> WindowIn:
        return cls(start=w.start, end=w.end)


class PricingIn(Wire):
    time_share_per_hour: Money | None = None
    per_piece: Money | None = None
    by_value_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None

    def to_domain(self) -> m.Pricing:
        return m.Pricing(self.time_share_per_hour, self.per_piece, self.by_value_pct)

    @classmethod
    def of(cls, p: m.Pricing) -> PricingIn:
        return cls(time_share_per_hour=p.time_share_per_hour, per_piece=p.per_piece,
                   by_value_pct=p.by_value_pct)


class ResourceIn(Wire):
    id: Id
    process: ProcessCode
    capacity: Annotated[int, Field(ge=1, le=1000)] = 1
    materials: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    speed: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 1.0
    setup_min: Annotated[int, Field(ge=0, le=7 * 24 * 60)] = 0
    pricing: PricingIn = PricingIn()
    windows: Annotated[list[WindowIn], Field(max_length=10_000)] = []

    @model_validator(mode="after")
    def _offers_a_price(self) -> Self:
        if not (self.pricing.time_share_per_hour is not None or self.pricing.per_piece is not None
                or self.pricing.by_value_pct is not None):
            raise ValueError(f"resource {self.id}: pricing offers no mode (set at least one of "
                             "time_share_per_hour, per_piece, by_value_pct)")
        return self

    def to_domain(self) -> m.Resource:
        return m.Resource(
            id=self.id, process=self.process, capacity=self.capacity,
            materials=tuple(self.materials), speed=self.speed, setup_min=self.setup_min,
            pricing=self.pricing.to_domain(),
            windows=tuple(sorted((w.to_domain() for w in self.windows), key=lambda w: w.start)),
        )

    @classmethod
    def of(cls, r: m.Resource) -> ResourceIn:
        return cls(id=r.id, process=r.process, capacity=r.capacity, materials=list(r.materials),
                   speed=r.speed, setup_min=r.setup_min, pricing=PricingIn.of(r.pricing),
                   windows=[WindowIn.of(w) for w in r.windows])


class FactoryIn(Wire):
    id: Id
    name: Annotated[str, Field(max_length=200)] = ""
    park: Id
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    rating: Annotated[float, Field(ge=0, le=5)] = 0.0
    certifications: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    resources: Annotated[list[ResourceIn], Field(max_length=10_000)] = []
    # Extension (issue 10): the factory organisation that manages it, named by the platform on
    # import. Input only: never echoed, so scenario documents round-trip unchanged.
    org: Annotated[Id | None, Field(exclude=True)] = None

    @field_validator("resources")
    @classmethod
    def _unique_resources(cls, v: list[ResourceIn]) -> list[ResourceIn]:
        _no_duplicates([r.id for r in v], "resource id")
        return v

    def to_domain(self) -> m.Factory:
        return m.Factory(
            id=self.id, name=self.name or self.id, park=self.park, lat=self.lat, lon=self.lon,
            rating=self.rating, certifications=tuple(self.certifications),
            resources=tuple(r.to_domain() for r in self.resources),
        )

    @classmethod
    def of(cls, f: m.Factory) -> FactoryIn:
        return cls(id=f.id, name=f.name, park=f.park, lat=f.lat, lon=f.lon, rating=f.rating,
                   certifications=list(f.certifications),
                   resources=[ResourceIn.of(r) for r in f.resources])


class StepIn(Wire):
    id: Id
    process: ProcessCode
    # > 0: a step of no time was quoted but its zero-length booking could never be stored.
    minutes_per_piece: Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)]
    setup_min: Annotated[int, Field(ge=0, le=7 * 24 * 60)] = 0
    after: list[Id] = []
    # Extensions (docs/formats.md#scenario): per-resource cycle times, eligible resources.
    minutes_per_piece_on: Annotated[
        dict[Id, Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)]],
        Field(max_length=10_000)] = {}
    only_on: Annotated[list[Id], Field(max_length=10_000)] = []

    def to_domain(self) -> m.Step:
        return m.Step(id=self.id, process=self.process, minutes_per_piece=self.minutes_per_piece,
                      setup_min=self.setup_min, after=tuple(self.after),
                      minutes_per_piece_on=tuple(sorted(self.minutes_per_piece_on.items())),
                      only_on=tuple(self.only_on))

    @classmethod
    def of(cls, s: m.Step) -> StepIn:
        return cls(id=s.id, process=s.process, minutes_per_piece=s.minutes_per_piece,
                   setup_min=s.setup_min, after=list(s.after),
                   minutes_per_piece_on=dict(s.minutes_per_piece_on), only_on=list(s.only_on))


PricingName = Literal["time_share", "per_piece", "by_value", "cheapest"]


class OrderIn(Wire):
    id: Id
    customer: Id
    material: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(gt=0, le=10_000_000)]
    due: UtcDatetime
    value: Money = 0.0
    pricing: PricingName = "cheapest"
    max_factories: Annotated[int, Field(ge=1, le=50)] = 3
    min_lot: Annotated[int, Field(ge=1)] = 1
    steps: Annotated[list[StepIn], Field(min_length=1, max_length=50)]
    certifications: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    parks: list[Id] = []
    # Extension: only factories with at least this platform credit score (0..1) may bid.
    min_credit: Annotated[float, Field(ge=0, le=1)] | None = None

    @model_validator(mode="after")
    def _valid_routing(self) -> Self:
        try:
            topological_order(self.steps)
        except RoutingError as exc:
            raise ValueError(f"order {self.id}: {exc}") from None
        if self.min_lot > self.quantity:
            raise ValueError(f"order {self.id}: min_lot {self.min_lot} exceeds quantity "
                             f"{self.quantity}")
        if self.pricing == "by_value" and self.value <= 0:
            raise ValueError(f"order {self.id}: pricing 'by_value' needs the order's value "
                             f"(> 0 CNY), got {self.value}")
        return self

    def to_domain(self) -> m.Order:
        return m.Order(
            id=self.id, customer=self.customer, material=self.material, quantity=self.quantity,
            due=self.due, value=self.value, pricing=m.PricingMode(self.pricing),
            max_factories=self.max_factories, min_lot=self.min_lot,
            steps=tuple(s.to_domain() for s in self.steps),
            certifications=tuple(self.certifications), parks=tuple(self.parks),
            min_credit=self.min_credit,
        )

    @classmethod
    def of(cls, o: m.Order) -> OrderIn:
        return cls(id=o.id, customer=o.customer, material=o.material, quantity=o.quantity,
                   due=o.due, value=o.value, pricing=o.pricing.value,
                   max_factories=o.max_factories, min_lot=o.min_lot,
                   steps=[StepIn.of(s) for s in o.steps], certifications=list(o.certifications),
                   parks=list(o.parks), min_credit=o.min_credit)


class TransportIn(Wire):
    cost_per_km: Money = 3.0
    speed_kmh: Annotated[float, Field(gt=0, le=500)] = 40.0
    handling_min: Annotated[int, Field(ge=0, le=24 * 60)] = 30

    def to_domain(self) -> m.Transport:
        return m.Transport(self.cost_per_km, self.speed_kmh, self.handling_min)


class ObjectiveIn(Wire):
    cost: Money = 1.0
    tardiness_per_hour: Money = 50.0
    makespan_per_hour: Money = 0.0
    late_order_penalty: Money = 0.0

    def to_domain(self) -> m.Objective:
        return m.Objective(self.cost, self.tardiness_per_hour, self.makespan_per_hour,
                           self.late_order_penalty)


class BookingIn(Wire):
    """Extension of the scenario (docs/formats.md#scenario): time already sold, which a plan must
    leave free.
    """

    id: Id
    resource: Id
    start: UtcDatetime
    end: UtcDatetime
    order: str | None = None
    step: str | None = None
    quantity: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"booking {self.id}: end must be after start")
        return self

    def to_domain(self) -> m.Booking:
        return m.Booking(self.id, self.resource, self.start, self.end, self.order, self.step,
                         self.quantity)


class ScenarioIn(Wire):
    horizon_start: UtcDatetime
    transport: TransportIn = TransportIn()
    factories: Annotated[list[FactoryIn], Field(max_length=20_000)] = []
    orders: Annotated[list[OrderIn], Field(max_length=100_000)] = []
    objective: ObjectiveIn = ObjectiveIn()
    bookings: list[BookingIn] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        _no_duplicates([f.id for f in self.factories], "factory id")
        _no_duplicates([r.id for f in self.factories for r in f.resources], "resource id")
        _no_duplicates([o.id for o in self.orders], "order id")
        known = {r.id for f in self.factories for r in f.resources}
        for b in self.bookings:
            if b.resource not in known:
                raise ValueError(f"booking {b.id} names unknown resource {b.resource!r}")
        return self

    def to_domain(self) -> m.Scenario:
        return m.Scenario(
            horizon_start=self.horizon_start,
            factories=tuple(f.to_domain() for f in self.factories),
            orders=tuple(o.to_domain() for o in self.orders),
            transport=self.transport.to_domain(), objective=self.objective.to_domain(),
            bookings=tuple(b.to_domain() for b in self.bookings),
        )

    @classmethod
    def of(cls, s: m.Scenario) -> ScenarioIn:
        t, o = s.transport, s.objective
        return cls(
            horizon_start=s.horizon_start,
            transport=TransportIn(cost_per_km=t.cost_per_km, speed_kmh=t.speed_kmh,
                                  handling_min=t.handling_min),
            factories=[FactoryIn.of(f) for f in s.factories],
            orders=[OrderIn.of(x) for x in s.orders],
            objective=ObjectiveIn(cost=o.cost, tardiness_per_hour=o.tardiness_per_hour,
                                  makespan_per_hour=o.makespan_per_hour,
                                  late_order_penalty=o.late_order_penalty),
            bookings=[BookingIn(id=b.id, resource=b.resource, start=b.start, end=b.end,
                                order=b.order, step=b.step, quantity=b.quantity)
                      for b in s.bookings],
        )


def _no_duplicates(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"duplicate {what} {i!r}")
        seen.add(i)


def parse_scenario(data: Any) -> m.Scenario:
    """Validate a scenario document (dict) into a domain Scenario; raises ValidationError."""
    return ScenarioIn.model_validate(data).to_domain()


def dump_scenario(scenario: m.Scenario) -> dict[str, Any]:
    """A domain Scenario as a JSON-ready scenario dict (docs/formats.md#scenario).

    Extension fields (order ``certifications`` and ``parks``, step ``minutes_per_piece_on`` and
    ``only_on``, top-level ``bookings``, the
    objective's ``late_order_penalty``) are left out while empty, so a document without
    extensions comes back exactly as it went in.
    """
    data = ScenarioIn.of(scenario).model_dump(mode="json")
    if not data["bookings"]:
        del data["bookings"]
    if not data["objective"]["late_order_penalty"]:  # an extension, left out while 0
        del data["objective"]["late_order_penalty"]
    for order in data["orders"]:
        for key in _ORDER_EXTENSIONS:
            if order[key] is None or order[key] == []:
                del order[key]
        for step in order["steps"]:
            for key in _STEP_EXTENSIONS:
                if not step[key]:
                    del step[key]
    return data


_ORDER_EXTENSIONS = ("certifications", "parks", "min_credit")
_STEP_EXTENSIONS = ("minutes_per_piece_on", "only_on")


# ------------------------------------------------- plan (docs/formats.md#plan), output only


def _money(x: float) -> float:
    return round(x + 0.0, 2)


def dump_plan(plan: m.Plan) -> dict[str, Any]:
    """A domain Plan as the JSON-ready plan dict (money with 2 decimals)."""
    return {
        "orders": [
            {
                "id": o.id,
                "status": o.status.value,
                "reason": o.reason,
                "total_cost": _money(o.total_cost),
                "completion": format_utc(o.completion) if o.completion else None,
                "lateness_min": o.lateness_min,
                "allocations": [
                    {"step": a.step, "factory": a.factory, "resource": a.resource,
                     "quantity": a.quantity, "start": format_utc(a.start),
                     "end": format_utc(a.end), "pricing": a.pricing.value,
                     "cost": _money(a.cost)}
                    for a in o.allocations
                ],
                "transports": [
                    {"from": t.from_factory, "to": t.to_factory, "after_step": t.after_step,
                     "before_step": t.before_step, "depart": format_utc(t.depart),
                     "arrive": format_utc(t.arrive), "km": t.km, "cost": _money(t.cost)}
                    for t in o.transports
                ],
            }
            for o in plan.orders
        ],
        "solver": {"status": plan.solver.status, "objective": round(plan.solver.objective, 2),
                   "bound": round(plan.solver.bound, 2), "wall_s": round(plan.solver.wall_s, 3)},
    }


def _dt(text: str) -> datetime:
    return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def load_plan(data: dict[str, Any]) -> m.Plan:
    """Read a plan dict back into a domain Plan (for checkers and stored quotes)."""
    orders = []
    for o in data["orders"]:
        orders.append(m.OrderPlan(
            id=o["id"], status=m.OrderStatus(o["status"]), reason=o.get("reason"),
            total_cost=float(o.get("total_cost", 0.0)),
            completion=_dt(o["completion"]) if o.get("completion") else None,
            lateness_min=int(o.get("lateness_min", 0)),
            allocations=tuple(
                m.Allocation(step=a["step"], factory=a["factory"], resource=a["resource"],
                             quantity=int(a["quantity"]), start=_dt(a["start"]),
                             end=_dt(a["end"]), pricing=m.PricingMode(a["pricing"]),
                             cost=float(a["cost"]))
                for a in o.get("allocations", [])),
            transports=tuple(
                m.TransportLeg(from_factory=t["from"], to_factory=t["to"],
                               after_step=t["after_step"], before_step=t["before_step"],
                               depart=_dt(t["depart"]), arrive=_dt(t["arrive"]),
                               km=float(t["km"]), cost=float(t["cost"]))
                for t in o.get("transports", [])),
        ))
    s = data.get("solver", {})
    return m.Plan(orders=tuple(orders), solver=m.SolverInfo(
        status=s.get("status", "UNKNOWN"), objective=float(s.get("objective", 0.0)),
        bound=float(s.get("bound", 0.0)), wall_s=float(s.get("wall_s", 0.0))))
