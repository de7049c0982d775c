"""A seeded generator of scenarios (docs/formats.md): N resources in a park region, M orders.

Used by the quote and multi-order benchmarks and by tests. Same arguments, same scenario.
Shapes (assumptions, not measurements): factories of 3-8 resources around Ningbo, one or two
12-hour shifts a day, a fifth of the machines already partly booked, metal parts routed
cut -> machine -> machine/form -> finish -> inspect.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from domain.model import (
    Booking,
    Factory,
    Objective,
    Order,
    Pricing,
    PricingMode,
    Resource,
    Scenario,
    Step,
    Transport,
    Window,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)
MATERIALS = ("al6061", "steel45", "ss304")
# Each routing stage picks one of these processes.
STAGES: tuple[tuple[str, ...], ...] = (
    ("cutting.laser", "cutting.saw"),
    ("machining.cnc_milling", "machining.cnc_turning"),
    ("machining.drilling", "machining.grinding", "forming.bending", "welding.mig"),
    ("surface.anodizing", "surface.powder_coating", "heat.quenching"),
    ("inspection.cmm",),
)
PROCESSES = tuple(p for stage in STAGES for p in stage)
SERVICE_LINES = ("surface.anodizing", "surface.powder_coating", "heat.quenching")
CERTS = ("ISO9001", "IATF16949", "AS9100")


def _resource(rng: random.Random, rid: str, days: int, t0: datetime) -> Resource:
    process = rng.choice(PROCESSES)
    capacity = rng.choice((2, 3, 4)) if process in SERVICE_LINES else 1
    rate = round(rng.uniform(50, 220), 0)
    pricing = Pricing(
        time_share_per_hour=rate,
        per_piece=round(rate / 60 * rng.uniform(1.5, 5.0), 2) if rng.random() < 0.5 else None,
        by_value_pct=round(rng.uniform(3, 12), 1) if rng.random() < 0.2 else None)
    windows = []
    two_shifts = rng.random() < 0.3
    for d in range(days):
        if rng.random() < 0.15:
            continue  # a day off
        start = t0 + timedelta(days=d, hours=8)
        windows.append(Window(start, start + timedelta(hours=24 if two_shifts else 12)))
    return Resource(rid, process, capacity,
                    tuple(sorted(rng.sample(MATERIALS, rng.randint(1, 3)))),
                    round(rng.uniform(0.8, 1.5), 2), rng.choice((10, 20, 30, 45, 60)),
                    pricing, tuple(windows))


def next_midnight(now: datetime | None = None) -> datetime:
    """The next UTC midnight: where a benchmark against a server on the wall clock starts its
    market, so every order's due date is in the future whatever the time of day."""
    now = now or datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def generate(n_resources: int, n_orders: int = 1, *, seed: int = 0, days: int = 7,
             steps: int = 5, booked_share: float = 0.2, start: datetime = T0) -> Scenario:
    """A market of ``n_resources`` resources and ``n_orders`` orders of ``steps`` steps.

    ``start``: the horizon's first midnight (a benchmark against a server on the wall clock
    moves it to today; the same seed gives the same market shifted in time).
    """
    rng = random.Random(seed)
    factories: list[Factory] = []
    bookings: list[Booking] = []
    made = 0
    while made < n_resources:
        fid = f"F{len(factories) + 1}"
        size = min(rng.randint(3, 8), n_resources - made)
        resources = tuple(_resource(rng, f"{fid}-R{i + 1}", days, start) for i in range(size))
        made += size
        for r in resources:
            if r.windows and rng.random() < booked_share:
                w = rng.choice(r.windows)
                begin = w.start + timedelta(hours=rng.randint(0, 6))
                bookings.append(Booking(f"B{len(bookings) + 1}", r.id, begin,
                                        begin + timedelta(hours=rng.randint(2, 6))))
        factories.append(Factory(
            fid, f"factory {fid}", f"P{rng.randint(1, 5)}",
            round(29.8 + rng.uniform(-0.4, 0.4), 4), round(121.5 + rng.uniform(-0.5, 0.5), 4),
            round(rng.uniform(3.5, 5.0), 1),
            tuple(c for c in CERTS if c == "ISO9001" or rng.random() < 0.3), resources))
    orders = [_order(rng, f"O{i + 1}", days, steps, start) for i in range(n_orders)]
    return Scenario(start, tuple(factories), tuple(orders),
                    Transport(cost_per_km=3.0, speed_kmh=40.0, handling_min=30),
                    Objective(cost=1.0, tardiness_per_hour=50.0, makespan_per_hour=0.0),
                    tuple(bookings))


def _order(rng: random.Random, oid: str, days: int, n_steps: int, t0: datetime) -> Order:
    quantity = rng.choice((50, 100, 200, 300, 500))
    stages = [rng.choice(STAGES[i % len(STAGES)]) for i in range(n_steps)]
    steps = tuple(
        Step(f"s{i + 1}", process, round(rng.uniform(0.3, 3.0), 1), rng.choice((10, 20, 30)),
             (f"s{i}",) if i else ())
        for i, process in enumerate(stages))
    return Order(oid, f"C{rng.randint(1, 20)}", rng.choice(MATERIALS[:2]), quantity,
                 t0 + timedelta(days=rng.randint(max(2, days // 2), days)),
                 round(quantity * rng.uniform(30, 80), 0), steps, PricingMode.CHEAPEST,
                 max_factories=3, min_lot=min(quantity, 25))
