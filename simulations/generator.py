"""Seeded market generator: a config plus a seed gives one concrete market, always the same.

The market is everything the simulation needs that does not depend on the policy: factories with
their machines, prices and published idle windows, the order stream (Poisson arrivals) and every
machine's breakdowns. Drawing breakdowns here, not inside the simulation, gives every policy the
same outages (common random numbers), so policy differences are not noise.

Three independent random streams (market, orders, outages) come from one seed, so sweeping the
order rate leaves the factories unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from domain.model import (
    Factory,
    Objective,
    Order,
    Pricing,
    PricingMode,
    Resource,
    Step,
    Transport,
    Window,
)
from simulations.config import (
    ArchetypeConfig,
    FamilyConfig,
    MarketConfig,
    OrdersConfig,
    ParkConfig,
    ShiftConfig,
    SimConfig,
)

MIN_PER_DAY = 24 * 60
KM_PER_DEG_LAT = 111.32


@dataclass(frozen=True, slots=True)
class Arrival:
    """An order and the simulated minute it reaches the platform."""

    at_min: int
    order: Order


@dataclass(frozen=True, slots=True)
class Outage:
    """A breakdown: the resource is down over [down_min, up_min)."""

    resource: str
    down_min: int
    up_min: int


@dataclass(frozen=True, slots=True)
class Market:
    """A generated market: facts only, shared read-only by every policy's run."""

    horizon_start: datetime
    factories: tuple[Factory, ...]
    arrivals: tuple[Arrival, ...]
    outages: tuple[Outage, ...]
    # Minutes each resource is staffed over the whole run (its shift), for utilization.
    shift_min: dict[str, int]
    transport: Transport
    objective: Objective
    arrival_end_min: int
    end_min: int

    def minute(self, when: datetime) -> int:
        """Simulated minute of an aware datetime (plans speak datetimes, the DES minutes)."""
        return round((when - self.horizon_start).total_seconds() / 60.0)

    def at(self, minute: float) -> datetime:
        return self.horizon_start + timedelta(minutes=minute)


def generate(config: SimConfig, seed: int | None = None) -> Market:
    """The market of ``config`` for ``seed`` (default: the config's own seed)."""
    seq = np.random.SeedSequence(config.seed if seed is None else seed)
    market_ss, orders_ss, outage_ss = seq.spawn(3)
    arrival_end = round(config.days * MIN_PER_DAY)
    end = arrival_end + round(config.drain_days * MIN_PER_DAY)
    days_total = math.ceil(end / MIN_PER_DAY)
    start = config.horizon_start
    factories, shift_min = _factories(config.market, start, days_total,
                                      np.random.default_rng(market_ss))
    arrivals = _arrivals(config.orders, config.market, start, arrival_end,
                         np.random.default_rng(orders_ss))
    outages = _outages(factories, config.market, end, np.random.default_rng(outage_ss))
    t, o = config.transport, config.objective
    return Market(
        horizon_start=start, factories=factories, arrivals=arrivals, outages=outages,
        shift_min=shift_min,
        transport=Transport(cost_per_km=t.cost_per_km, speed_kmh=t.speed_kmh,
                            handling_min=t.handling_min),
        objective=Objective(cost=o.cost, tardiness_per_hour=o.tardiness_per_hour,
                            makespan_per_hour=o.makespan_per_hour,
                            late_order_penalty=o.late_order_penalty),
        arrival_end_min=arrival_end, end_min=end,
    )


# ----------------------------------------------------------------------------- factories


def _pick(rng: np.random.Generator, weights: list[float]) -> int:
    p = np.asarray(weights, dtype=float)
    return int(rng.choice(len(p), p=p / p.sum()))


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1])) if bounds[1] > bounds[0] else bounds[0]


def _factories(cfg: MarketConfig, start: datetime, days: int, rng: np.random.Generator
               ) -> tuple[tuple[Factory, ...], dict[str, int]]:
    factories: list[Factory] = []
    shift_min: dict[str, int] = {}
    kinds = _archetype_slots(cfg, rng)
    for i in range(cfg.factories):
        park = cfg.parks[_pick(rng, [p.weight for p in cfg.parks])]
        arch = cfg.archetypes[kinds[i]]
        shift = cfg.shifts[_pick(rng, [s.weight for s in cfg.shifts])]
        fid = f"F{i + 1:04d}"
        lat, lon = _scatter(park, rng)
        price_factor = _uniform(rng, cfg.price_factor)
        idle_share = _uniform(rng, cfg.idle_share)
        resources = []
        for code, count in _machine_counts(arch, rng):
            for k in range(count):
                rid = f"{fid}-{code.split('.', 1)[1][:6].upper()}{k + 1}"
                windows, staffed = _windows(shift, cfg.idle_block_h, idle_share, start, days, rng)
                resources.append(_resource(rid, code, arch, cfg, price_factor, windows, rng))
                shift_min[rid] = staffed
        factories.append(Factory(
            id=fid, name=f"{arch.name} {i + 1}", park=park.id, lat=lat, lon=lon,
            rating=round(_uniform(rng, (3.5, 5.0)), 1),
            certifications=tuple(arch.certifications), resources=tuple(resources),
        ))
    return tuple(factories), shift_min


def _archetype_slots(cfg: MarketConfig, rng: np.random.Generator) -> list[int]:
    """Archetype of each factory: counts proportional to weight, in shuffled order.

    Drawing each factory's kind independently can leave a small market without any
    anodizing plant at all; apportioning by weight (largest remainder, every archetype at
    least once while there are enough factories) keeps every seed's market complete.
    """
    weights = [a.weight for a in cfg.archetypes]
    total = sum(weights)
    n = cfg.factories
    exact = [n * w / total for w in weights]
    counts = [int(x) for x in exact]
    if n >= len(weights):
        counts = [max(1, c) for c in counts]
    while sum(counts) > n:
        i = max(range(len(counts)), key=lambda k: (counts[k] - exact[k], k))
        counts[i] -= 1
    by_remainder = sorted(range(len(counts)), key=lambda k: (-(exact[k] - counts[k]), k))
    j = 0
    while sum(counts) < n:
        counts[by_remainder[j % len(counts)]] += 1
        j += 1
    slots = [k for k, c in enumerate(counts) for _ in range(c)]
    return [int(x) for x in rng.permutation(slots)]


def _scatter(park: ParkConfig, rng: np.random.Generator) -> tuple[float, float]:
    """A point uniformly inside the park's disc."""
    r = park.radius_km * math.sqrt(float(rng.uniform()))
    theta = float(rng.uniform(0, 2 * math.pi))
    dlat = r * math.sin(theta) / KM_PER_DEG_LAT
    dlon = r * math.cos(theta) / (KM_PER_DEG_LAT * math.cos(math.radians(park.lat)))
    return round(park.lat + dlat, 5), round(park.lon + dlon, 5)


def _machine_counts(arch: ArchetypeConfig, rng: np.random.Generator) -> list[tuple[str, int]]:
    counts = [(code, int(rng.integers(lo, hi + 1))) for code, (lo, hi) in arch.processes.items()]
    if not any(c for _, c in counts):  # every factory has at least one machine
        counts[0] = (counts[0][0], 1)
    return counts


def _resource(rid: str, code: str, arch: ArchetypeConfig, cfg: MarketConfig,
              price_factor: float, windows: tuple[Window, ...], rng: np.random.Generator
              ) -> Resource:
    proc = cfg.processes[code]
    materials = [m for m in arch.materials if rng.uniform() < 0.8] or [arch.materials[0]]
    speed = round(_uniform(rng, cfg.speed), 2)
    rate = proc.rate_per_hour * price_factor
    # A per-piece offer is the time-share rate over a typical piece, with a margin for the
    # factory carrying the setup and the risk of a slow part.
    typical_mpp = (proc.minutes_per_piece[0] + proc.minutes_per_piece[1]) / 2
    per_piece = (round(rate / 60 * typical_mpp / speed * _uniform(rng, (1.0, 1.3)), 2)
                 if rng.uniform() < cfg.per_piece_share else None)
    by_value = (round(_uniform(rng, cfg.by_value_pct), 1)
                if rng.uniform() < cfg.by_value_share else None)
    return Resource(
        id=rid, process=code, capacity=proc.capacity, materials=tuple(materials), speed=speed,
        setup_min=int(rng.integers(proc.setup_min[0], proc.setup_min[1] + 1)),
        pricing=Pricing(time_share_per_hour=round(rate, 2), per_piece=per_piece,
                        by_value_pct=by_value),
        windows=windows,
    )


def _windows(shift: ShiftConfig, block_h: int, idle_share: float, start: datetime, days: int,
             rng: np.random.Generator) -> tuple[tuple[Window, ...], int]:
    """Idle windows a resource publishes, and its staffed minutes.

    We assume the factory's own work fills its shifts in blocks of ``block_h`` hours and each
    block is independently left idle (published to the platform) with probability
    ``idle_share``; adjacent idle blocks merge into one window.
    """
    spans: list[tuple[int, int]] = []
    staffed = 0
    for day in range(days):
        if (start + timedelta(days=day)).weekday() not in shift.weekdays:
            continue
        s0 = day * MIN_PER_DAY + shift.start_h * 60
        s1 = s0 + shift.hours * 60
        staffed += s1 - s0
        t = s0
        while t < s1:
            b1 = min(s1, t + block_h * 60)
            if rng.uniform() < idle_share:
                if spans and spans[-1][1] == t:
                    spans[-1] = (spans[-1][0], b1)
                else:
                    spans.append((t, b1))
            t = b1
    windows = tuple(Window(start + timedelta(minutes=a), start + timedelta(minutes=b))
                    for a, b in spans)
    return windows, staffed


def _outages(factories: tuple[Factory, ...], cfg: MarketConfig, end: int,
             rng: np.random.Generator) -> tuple[Outage, ...]:
    """Breakdowns per resource: exponential times between failures and to repair (calendar)."""
    out: list[Outage] = []
    for f in factories:
        for r in f.resources:
            t = 0.0
            while True:
                t += float(rng.exponential(cfg.mtbf_h * 60))
                if t >= end:
                    break
                repair = max(10, round(float(rng.exponential(cfg.mttr_h * 60))))
                down = round(t)
                out.append(Outage(resource=r.id, down_min=down, up_min=down + repair))
                t = down + repair
    out.sort(key=lambda o: (o.down_min, o.resource))
    return tuple(out)


# -------------------------------------------------------------------------------- orders


def _arrivals(cfg: OrdersConfig, market: MarketConfig, start: datetime, arrival_end: int,
              rng: np.random.Generator) -> tuple[Arrival, ...]:
    """A Poisson stream: exponential gaps with mean 1 / per_day days."""
    arrivals: list[Arrival] = []
    mean_gap_min = MIN_PER_DAY / cfg.per_day
    t = 0.0
    while True:
        t += float(rng.exponential(mean_gap_min))
        if t >= arrival_end:
            break
        at = round(t)
        oid = f"O{len(arrivals) + 1:05d}"
        family = cfg.families[_pick(rng, [f.weight for f in cfg.families])]
        arrivals.append(Arrival(at_min=at,
                                order=_order(oid, family, cfg, market, start, at, rng)))
    return tuple(arrivals)


def _kept_steps(family: FamilyConfig, rng: np.random.Generator) -> list[int]:
    kept = [i for i, s in enumerate(family.steps) if rng.uniform() < s.probability]
    if len(kept) < 2:  # a routing has at least two steps: keep the most likely ones
        by_p = sorted(range(len(family.steps)), key=lambda i: (-family.steps[i].probability, i))
        kept = sorted(set(kept) | set(by_p[:2]))
    return kept


def _preds(family: FamilyConfig, i: int) -> list[int]:
    s = family.steps[i]
    return list(s.after) if s.after is not None else ([i - 1] if i > 0 else [])


def _kept_preds(family: FamilyConfig, i: int, kept: set[int]) -> list[int]:
    """Predecessors of step i among kept steps, looking through dropped ones."""
    out: set[int] = set()
    stack = _preds(family, i)
    while stack:
        j = stack.pop()
        if j in kept:
            out.add(j)
        else:
            stack.extend(_preds(family, j))
    return sorted(out)


def _order(oid: str, family: FamilyConfig, cfg: OrdersConfig, market: MarketConfig,
           start: datetime, at: int, rng: np.random.Generator) -> Order:
    kept = _kept_steps(family, rng)
    kept_set = set(kept)
    sid = {i: f"s{n + 1}" for n, i in enumerate(kept)}
    qty = round(math.exp(_uniform(rng, (math.log(family.quantity[0]),
                                             math.log(family.quantity[1])))))
    steps: list[Step] = []
    work_min = 0.0
    for i in kept:
        sc = family.steps[i]
        proc = market.processes.get(sc.process)
        mpp_range = sc.minutes_per_piece or (proc.minutes_per_piece if proc else (1.0, 1.0))
        setup_range = proc.setup_min if proc else (15, 45)
        mpp = round(_uniform(rng, mpp_range), 2)
        setup = int(rng.integers(setup_range[0], setup_range[1] + 1))
        work_min += setup + qty * mpp
        steps.append(Step(id=sid[i], process=sc.process, minutes_per_piece=mpp, setup_min=setup,
                          after=tuple(sid[j] for j in _kept_preds(family, i, kept_set))))
    slack = _uniform(rng, cfg.due_slack)
    lead_min = max(cfg.min_lead_h * 60, slack * work_min * 24 / cfg.work_hours_per_day)
    return Order(
        id=oid, customer=f"C{int(rng.integers(1, 61)):03d}",
        material=family.materials[int(rng.integers(len(family.materials)))],
        quantity=qty, due=start + timedelta(minutes=at + round(lead_min)),
        value=round(qty * _uniform(rng, family.value_per_piece), 2), steps=tuple(steps),
        pricing=PricingMode.CHEAPEST, max_factories=cfg.max_factories,
        min_lot=max(1, int(qty * cfg.min_lot_share)),
    )
