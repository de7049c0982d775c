"""Key figures of one simulated run, and the CSV tables they go into.

Definitions (one place, so the report, the CSV and the sweep agree):
- ``orders``: orders that arrived; ``filled``: planned when they arrived; ``on_time``:
  completed by their due date; ``on_time_rate`` = on_time / orders (unmatched orders count as
  not on time, so a policy cannot look good by refusing work);
- ``mean_lead_time_h``: arrival to completion, completed orders only;
- ``cost_per_order``: lots (as priced by the plan) plus transport legs, mean over filled orders;
- ``factories_per_order``: distinct factories working on a filled order;
- ``idle_capacity_used``: platform processing time / published idle machine time;
- ``utilization``: (the factories' own work + platform work) / staffed machine time, where own
  work is the staffed time not published as idle. Machine time of a service line counts
  ``capacity`` times.

Two policies rarely fill the same orders, so their ``cost_per_order`` also compares different
orders: the one that fills more takes on the orders the other could not place, which are dear
(far from their capacity, or short of it). ``compare_common`` prices the orders both filled
side by side and the ones only one of them filled apart; it reads ``filled_costs`` of the
``OrderOutcome`` rows (one per order, which ``orders_<policy>.csv`` holds for analysts).
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields

from simulations.des import SimResult
from simulations.generator import MIN_PER_DAY, Market


@dataclass(frozen=True, slots=True)
class Kpis:
    policy: str
    orders: int
    filled: int
    unmatched: int
    completed: int
    on_time: int
    late: int
    on_time_rate: float
    fill_rate: float
    mean_lead_time_h: float
    p90_lead_time_h: float
    mean_tardiness_h: float
    cost_per_order: float
    factories_per_order: float
    multi_factory_orders: int
    replans: int
    outages: int
    utilization: float
    idle_capacity_used: float


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """One order at the end of a run (hours since the market's start)."""

    order: str
    policy: str
    arrival_h: float
    due_h: float
    status: str  # unmatched | planned | done (waiting: arrived after the last plan)
    completion_h: float | None
    on_time: bool
    cost_cny: float | None  # what the customer pays; None when not filled
    factories: int
    replans: int


@dataclass(frozen=True, slots=True)
class CommonCost:
    """Cost per filled order of ``a`` and ``b`` on the orders both filled, and apart on the
    orders only one of them filled."""

    both: int
    a_cost: float
    b_cost: float
    only_a: int
    only_a_cost: float
    only_b: int
    only_b_cost: float

    @property
    def change(self) -> float:
        """``a`` against ``b`` on the common orders (-0.10: 10 % cheaper)."""
        return self.a_cost / self.b_cost - 1.0 if self.b_cost else 0.0


@dataclass(frozen=True, slots=True)
class UtilizationRow:
    policy: str
    scope: str  # overall | park | process
    key: str
    platform_busy_h: float
    idle_offered_h: float
    idle_capacity_used: float
    utilization: float


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else 0.0


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def percentile(xs: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: stable bytes in the CSV)."""
    if not xs:
        return 0.0
    ordered = sorted(xs)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def lead_times_h(result: SimResult) -> list[float]:
    return [(r.completion - r.arrival) / 60.0 for r in result.orders if r.completion is not None]


def costs_cny(result: SimResult) -> list[float]:
    return [r.cost_cny() for r in result.orders if r.status in ("planned", "done")]


def idle_offered_min(market: Market) -> dict[str, int]:
    """Published idle minutes per resource over the run (capacity counted)."""
    out: dict[str, int] = {}
    for f in market.factories:
        for r in f.resources:
            total = 0
            for w in r.windows:
                a = max(0, market.minute(w.start))
                b = min(market.end_min, market.minute(w.end))
                total += max(0, b - a)
            out[r.id] = total * r.capacity
    return out


def busy_min(result: SimResult) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for span in result.busy:
        out[span.resource] += min(span.end, result.end_min) - span.start
    return out


def order_outcomes(result: SimResult) -> list[OrderOutcome]:
    out = []
    for r in result.orders:
        filled = r.status in ("planned", "done")
        out.append(OrderOutcome(
            order=r.order.id, policy=result.policy, arrival_h=r.arrival / 60.0,
            due_h=r.due / 60.0, status=r.status,
            completion_h=None if r.completion is None else r.completion / 60.0,
            on_time=r.completion is not None and r.completion <= r.due,
            cost_cny=r.cost_cny() if filled else None,
            factories=len(r.factories()) if filled else 0, replans=r.replans))
    return out


def filled_costs(outcomes: Iterable[OrderOutcome]) -> dict[str, float]:
    """Order -> what its customer pays, for the filled orders."""
    return {o.order: o.cost_cny for o in outcomes if o.cost_cny is not None}


def compare_common(cost_a: Mapping[str, float], cost_b: Mapping[str, float]) -> CommonCost:
    """Price the orders two policies on one market (``filled_costs`` of each) both filled,
    and apart those only one of them filled."""
    both = cost_a.keys() & cost_b.keys()
    only_a, only_b = cost_a.keys() - both, cost_b.keys() - both
    return CommonCost(
        both=len(both), a_cost=_mean([cost_a[k] for k in both]),
        b_cost=_mean([cost_b[k] for k in both]), only_a=len(only_a),
        only_a_cost=_mean([cost_a[k] for k in only_a]), only_b=len(only_b),
        only_b_cost=_mean([cost_b[k] for k in only_b]))


def compute(result: SimResult) -> Kpis:
    runs = result.orders
    filled = [r for r in runs if r.status in ("planned", "done")]
    done = [r for r in runs if r.completion is not None]
    on_time = [r for r in done if r.completion is not None and r.completion <= r.due]
    tardiness = [max(0, r.completion - r.due) / 60.0 for r in done if r.completion is not None]
    leads = lead_times_h(result)
    factory_counts = [len(r.factories()) for r in filled]
    rows = utilization_rows(result)
    overall = next(r for r in rows if r.scope == "overall")
    return Kpis(
        policy=result.policy, orders=len(runs), filled=len(filled),
        unmatched=sum(1 for r in runs if r.status == "unmatched"), completed=len(done),
        on_time=len(on_time), late=len(done) - len(on_time),
        on_time_rate=_ratio(len(on_time), len(runs)), fill_rate=_ratio(len(filled), len(runs)),
        mean_lead_time_h=_mean(leads), p90_lead_time_h=percentile(leads, 90),
        mean_tardiness_h=_mean(tardiness), cost_per_order=_mean(costs_cny(result)),
        factories_per_order=_mean([float(c) for c in factory_counts]),
        multi_factory_orders=sum(1 for c in factory_counts if c > 1),
        replans=sum(r.replans for r in runs), outages=result.outages,
        utilization=overall.utilization, idle_capacity_used=overall.idle_capacity_used,
    )


def utilization_rows(result: SimResult) -> list[UtilizationRow]:
    """Utilization overall, per park and per process."""
    market = result.market
    offered = idle_offered_min(market)
    busy = busy_min(result)
    groups: dict[tuple[str, str], list[tuple[int, int, int]]] = defaultdict(list)
    for f in market.factories:
        for r in f.resources:
            staffed = market.shift_min[r.id] * r.capacity
            item = (busy.get(r.id, 0), offered[r.id], staffed)
            groups[("overall", "all")].append(item)
            groups[("park", f.park)].append(item)
            groups[("process", r.process)].append(item)
    rows = []
    for (scope, key), items in sorted(groups.items(),
                                      key=lambda kv: (("overall", "park", "process")
                                                      .index(kv[0][0]), kv[0][1])):
        b = sum(i[0] for i in items)
        o = sum(i[1] for i in items)
        s = sum(i[2] for i in items)
        rows.append(UtilizationRow(
            policy=result.policy, scope=scope, key=key, platform_busy_h=b / 60.0,
            idle_offered_h=o / 60.0, idle_capacity_used=_ratio(b, o),
            utilization=_ratio(s - o + b, s)))
    return rows


def daily_idle_used(result: SimResult) -> list[float]:
    """Per simulated day: platform processing / published idle time that day."""
    days = math.ceil(result.end_min / MIN_PER_DAY)
    offered = [0.0] * days
    used = [0.0] * days
    market = result.market
    for f in market.factories:
        for r in f.resources:
            for w in r.windows:
                _spread(offered, market.minute(w.start), market.minute(w.end), r.capacity)
    for span in result.busy:
        _spread(used, span.start, span.end, 1)
    return [_ratio(u, o) for u, o in zip(used, offered, strict=True)]


def _spread(buckets: list[float], start: int, end: int, weight: int) -> None:
    t = max(0, start)
    end = min(end, len(buckets) * MIN_PER_DAY)
    while t < end:
        day = t // MIN_PER_DAY
        nxt = min(end, (day + 1) * MIN_PER_DAY)
        buckets[day] += (nxt - t) * weight
        t = nxt


# ------------------------------------------------------------------------------ CSV

_DECIMALS = {"cost_per_order": 2, "platform_busy_h": 2, "idle_offered_h": 2, "cost_cny": 2,
             "arrival_h": 2, "due_h": 2, "completion_h": 2}


def _cell(name: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{_DECIMALS.get(name, 4)}f}"
    return str(value)


def to_csv(rows: Iterable[object], header: Sequence[str] | None = None) -> str:
    """Rows of dataclasses as CSV text with fixed decimals (same run, same bytes)."""
    rows = list(rows)
    names = list(header) if header else [f.name for f in fields(rows[0])]  # type: ignore[arg-type]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        data = row if isinstance(row, dict) else asdict(row)  # type: ignore[call-overload]
        writer.writerow([_cell(n, data.get(n, "")) for n in names])
    return buf.getvalue()


KPI_COLUMNS = tuple(f.name for f in fields(Kpis))


def events_csv(result: SimResult) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["minute", "time", "event"])
    for minute, text in result.log:
        writer.writerow([minute, result.market.at(minute).strftime("%Y-%m-%dT%H:%MZ"), text])
    return buf.getvalue()
