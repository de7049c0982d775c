"""The market config an analyst writes (YAML): who is in the market and what they order.

The config is small on purpose: archetypes and ranges, not lists of machines. The generator
turns it into a concrete market with a seed. Validation happens here, once, with pydantic, so a
bad config fails with the path of the offending field (``orders.per_day: must be > 0``).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain import processes

Range = Annotated[tuple[float, float], Field(description="[low, high], both inclusive")]
IntRange = Annotated[tuple[int, int], Field(description="[low, high], both inclusive")]


class ConfigError(ValueError):
    """A config that cannot be used; the message names the field."""


def _ordered(value: tuple[float, float], what: str) -> tuple[float, float]:
    if value[0] > value[1]:
        raise ValueError(f"{what}: low {value[0]} is above high {value[1]}")
    return value


def _known(code: str) -> str:
    if not processes.is_known(code):
        raise ValueError(f"unknown process code {code!r}")
    return code


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParkConfig(Strict):
    """An industrial park: a centre point; its factories are scattered within ``radius_km``."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")]
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    radius_km: Annotated[float, Field(gt=0, le=200)] = 5.0
    weight: Annotated[float, Field(gt=0)] = 1.0


class ShiftConfig(Strict):
    """A shift pattern: the hours of the day a factory works, and on which weekdays (0=Mon)."""

    name: str
    weight: Annotated[float, Field(gt=0)] = 1.0
    start_h: Annotated[int, Field(ge=0, le=23)]
    hours: Annotated[int, Field(ge=1, le=24)]
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = [0, 1, 2, 3, 4, 5]


class ArchetypeConfig(Strict):
    """A kind of factory: which processes it has, how many machines of each (a range)."""

    name: str
    weight: Annotated[float, Field(gt=0)] = 1.0
    processes: dict[str, IntRange]
    materials: list[str]
    certifications: list[str] = []

    @field_validator("processes")
    @classmethod
    def _codes(cls, v: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        for code, (lo, hi) in v.items():
            _known(code)
            if lo < 0 or hi < lo:
                raise ValueError(f"{code}: machine count range [{lo}, {hi}] is not valid")
        return v


class ProcessPriceConfig(Strict):
    """Going rate of a process: time-share CNY/hour, a typical minutes per piece, capacity."""

    rate_per_hour: Annotated[float, Field(gt=0)]
    minutes_per_piece: Range
    setup_min: IntRange = (15, 45)
    capacity: Annotated[int, Field(ge=1, le=100)] = 1

    @field_validator("minutes_per_piece")
    @classmethod
    def _mpp(cls, v: tuple[float, float]) -> tuple[float, float]:
        return _ordered(v, "minutes_per_piece")


class MarketConfig(Strict):
    factories: Annotated[int, Field(ge=1, le=20_000)]
    parks: Annotated[list[ParkConfig], Field(min_length=1)]
    archetypes: Annotated[list[ArchetypeConfig], Field(min_length=1)]
    shifts: Annotated[list[ShiftConfig], Field(min_length=1)]
    # Share of shift time a factory publishes as idle (the rest is its own work).
    idle_share: Range = (0.3, 0.7)
    # Idle time is published in blocks of this many hours inside the shift.
    idle_block_h: Annotated[int, Field(ge=1, le=24)] = 4
    speed: Range = (0.8, 1.3)
    price_factor: Range = (0.8, 1.25)
    per_piece_share: Annotated[float, Field(ge=0, le=1)] = 0.5
    by_value_share: Annotated[float, Field(ge=0, le=1)] = 0.2
    by_value_pct: Range = (4.0, 12.0)
    mtbf_h: Annotated[float, Field(gt=0)] = 300.0
    mttr_h: Annotated[float, Field(gt=0)] = 6.0
    processes: dict[str, ProcessPriceConfig]

    @model_validator(mode="after")
    def _priced(self) -> Self:
        for a in self.archetypes:
            for code in a.processes:
                if code not in self.processes:
                    raise ValueError(f"archetype {a.name}: process {code} has no entry in "
                                     "market.processes (rate_per_hour, minutes_per_piece)")
        return self


class StepConfig(Strict):
    process: str
    # Each family step is kept with this probability (1 = always), so routings vary in length.
    probability: Annotated[float, Field(gt=0, le=1)] = 1.0
    minutes_per_piece: Range | None = None
    after: list[int] | None = None  # indices into the family's steps; None: the previous one

    @field_validator("process")
    @classmethod
    def _code(cls, v: str) -> str:
        return _known(v)


class FamilyConfig(Strict):
    """A product family: a routing template, quantity range and materials."""

    name: str
    weight: Annotated[float, Field(gt=0)] = 1.0
    steps: Annotated[list[StepConfig], Field(min_length=2, max_length=8)]
    quantity: IntRange
    materials: Annotated[list[str], Field(min_length=1)]
    value_per_piece: Range = (20.0, 200.0)

    @model_validator(mode="after")
    def _after_points_back(self) -> Self:
        for i, s in enumerate(self.steps):
            for j in s.after or []:
                if not 0 <= j < i:
                    raise ValueError(f"family {self.name}: step {i} after {j} must point to an "
                                     "earlier step")
        return self


class OrdersConfig(Strict):
    per_day: Annotated[float, Field(gt=0)]
    families: Annotated[list[FamilyConfig], Field(min_length=1)]
    # Due date = arrival + slack x (the routing's work at nominal speed, spread over a day
    # that offers ``work_hours_per_day`` of machine time), at least ``min_lead_h``.
    due_slack: Range = (1.2, 3.0)
    work_hours_per_day: Annotated[float, Field(gt=0, le=24)] = 8.0
    min_lead_h: Annotated[float, Field(ge=0)] = 24.0
    max_factories: Annotated[int, Field(ge=1, le=50)] = 3
    min_lot_share: Annotated[float, Field(gt=0, le=1)] = 0.2


class TransportConfig(Strict):
    cost_per_km: Annotated[float, Field(ge=0)] = 3.0
    speed_kmh: Annotated[float, Field(gt=0)] = 40.0
    handling_min: Annotated[int, Field(ge=0)] = 30


class ObjectiveConfig(Strict):
    cost: Annotated[float, Field(ge=0)] = 1.0
    tardiness_per_hour: Annotated[float, Field(ge=0)] = 50.0
    makespan_per_hour: Annotated[float, Field(ge=0)] = 1.0
    # Yuan per order that misses its due date (see domain.model.Objective).
    late_order_penalty: Annotated[float, Field(ge=0)] = 0.0


class SolverConfig(Strict):
    """The per-order search budget; deterministic so a seed repeats a run exactly."""

    deterministic_time_s: Annotated[float, Field(gt=0)] = 0.05
    time_limit_s: Annotated[float, Field(gt=0)] = 2.0
    max_lots_per_step: Annotated[int, Field(ge=1, le=10)] = 3
    # The engine keeps this many cheapest/earliest resources per step before modelling.
    candidates_per_step: Annotated[int, Field(ge=1, le=100)] = 6
    # 0: plan each order the minute it arrives; N > 0: plan what arrived every N minutes in
    # one engine call (the matcher worker taking a batch off the stream).
    batch_min: Annotated[int, Field(ge=0, le=24 * 60)] = 0
    # Windows further than this beyond the order's due date are left out of its snapshot.
    lookahead_after_due_days: Annotated[float, Field(ge=0)] = 5.0
    # CP-SAT presolves once, without probing or symmetry detection: on the small per-order
    # models a full presolve cost more wall time than the search itself (matching.cpsat.Budget).
    light_presolve: bool = True
    # The platform's own planning margin (cpsat and greedy): it plans each order against an
    # internal due date this share of the order's lead window (arrival to due) earlier than
    # the customer's, so the cheapest plan keeps slack instead of ending on the due date.
    # 0 plans against the customer's date. The KPIs always count the customer's date.
    due_margin: Annotated[float, Field(ge=0, lt=1)] = 0.0
    # Yuan per hour of an order's finish time, times the booked share of the capacity it
    # could use (simulations.policies.congestion_priced), on top of objective.makespan_per_hour:
    # the price later orders pay for capacity a late-finishing plan holds. 0: none.
    congestion_per_hour: Annotated[float, Field(ge=0)] = 0.0
    # The platform engine's (cpsat) markup on each resource's prices, times the share of that
    # resource's time up to the order's due date already sold (simulations.policies.
    # scarcity_priced): 1.0 plans a half-sold machine at 1.5 times its price, so the plan
    # weighs the capacity it takes from later orders. Planning only: lots are billed at the
    # market's prices. 0: none. At most 10 (a sold-out machine at 11 times its price).
    scarcity_markup: Annotated[float, Field(ge=0, le=10)] = 0.0
    # The markup on the share sold above the mean share of the resource's process (floored
    # at 0; simulations.policies.relative_shares) instead of the share itself.
    scarcity_relative: bool = False


class SimConfig(Strict):
    seed: int = 0
    horizon_start: datetime
    days: Annotated[float, Field(gt=0, le=366)]
    # After the last arrival the simulation keeps running this long so late orders finish.
    drain_days: Annotated[float, Field(ge=0, le=366)] = 14.0
    market: MarketConfig
    orders: OrdersConfig
    transport: TransportConfig = TransportConfig()
    objective: ObjectiveConfig = ObjectiveConfig()
    solver: SolverConfig = SolverConfig()

    @field_validator("horizon_start")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("horizon_start needs a timezone, e.g. 2026-12-01T00:00:00Z")
        v = v.astimezone(UTC)
        if v.hour or v.minute or v.second or v.microsecond:
            raise ValueError("horizon_start must be midnight UTC (shifts are laid out by day)")
        return v


# Short names for the knobs analysts sweep most; any dotted path works too.
PARAM_ALIASES: dict[str, str] = {
    "orders_per_day": "orders.per_day",
    "factories": "market.factories",
    "days": "days",
    "mtbf_h": "market.mtbf_h",
    "mttr_h": "market.mttr_h",
    "due_slack_low": "orders.due_slack.0",
    "due_slack_high": "orders.due_slack.1",
    "max_factories": "orders.max_factories",
    "deterministic_time_s": "solver.deterministic_time_s",
    "batch_min": "solver.batch_min",
    "candidates_per_step": "solver.candidates_per_step",
}


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid simulation config"]
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {path}: {err['msg']}")
    return "\n".join(lines)


def parse_config(data: Any, source: str = "config") -> SimConfig:
    """Validate a config mapping; ConfigError names every bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    try:
        return SimConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None


def read_raw(path: Path) -> dict[str, Any]:
    """The YAML of ``path`` as a mapping, before validation (sweeps edit it)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


def load_config(path: Path) -> SimConfig:
    return parse_config(read_raw(path), str(path))


def with_params(raw: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``raw`` with each (alias or dotted path) parameter set; unknown paths refused."""
    out = copy.deepcopy(raw)
    for name, value in params.items():
        path = PARAM_ALIASES.get(name, name).split(".")
        node: Any = out
        for i, key in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise ConfigError(f"--param {name}: {key!r} is not an index of the list at "
                                      f"{'.'.join(path[:i]) or '(top)'}")
                if last:
                    node[int(key)] = value
                else:
                    node = node[int(key)]
            elif isinstance(node, dict):
                if key not in node and not (last and _is_known_field(path)):
                    raise ConfigError(f"--param {name}: no field {'.'.join(path[:i + 1])!r} "
                                      f"in the config (aliases: {', '.join(PARAM_ALIASES)})")
                if last:
                    node[key] = value
                else:
                    node = node[key]
            else:
                raise ConfigError(f"--param {name}: {'.'.join(path[:i])!r} is not a mapping")
    return out


def _is_known_field(path: list[str]) -> bool:
    """True when a dotted path names a model field that may be absent from the YAML."""
    model: type[BaseModel] = SimConfig
    for key in path:
        field = model.model_fields.get(key)
        if field is None:
            return False
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        elif key != path[-1]:
            return False
    return True


def parse_value(text: str) -> Any:
    """A --param value from the command line: YAML scalar rules (50 -> int, 0.5 -> float)."""
    return yaml.safe_load(text)
