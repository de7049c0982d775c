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
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
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

_DECIMALS = {"cost_per_order": 2, "platform_busy_h": 2, "idle_offered_h": 2}


def _cell(name: str, value: object) -> str:
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
