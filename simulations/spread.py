"""KPIs over several seeds: the spread an analyst needs before trusting one run's ranking.

One seed draws one market (factories, orders, breakdowns); a policy that wins on one draw can
lose on the next. ``summarise`` gives each KPI's mean, lowest and highest over the seeds per
policy; ``verdicts`` checks, seed by seed, the targets the platform's policy must meet against
the greedy baseline and the single-factory status quo of the same market.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from simulations.kpis import Kpis

# The KPIs shown side by side, with the format a reader expects.
SPREAD_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("filled", "filled orders", "{:.0f}"),
    ("fill_rate", "fill rate", "{:.1%}"),
    ("on_time_rate", "on time", "{:.1%}"),
    ("mean_lead_time_h", "mean lead time h", "{:.1f}"),
    ("mean_tardiness_h", "mean tardiness h (completed orders)", "{:.1f}"),
    ("cost_per_order", "cost per filled order CNY", "{:,.0f}"),
    ("factories_per_order", "factories per order", "{:.2f}"),
    ("idle_capacity_used", "idle capacity used", "{:.1%}"),
    ("utilization", "utilization", "{:.1%}"),
)

# Targets of the platform's policy (cpsat) on every seed.
COST_CUT = 0.10  # at least 10 % cheaper per filled order than greedy
ON_TIME_GAIN_VS_SINGLE = 0.20  # at least 20 points more on time than one factory per order


@dataclass(frozen=True, slots=True)
class Spread:
    mean: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Verdict:
    seed: int
    target: str
    cpsat: float
    baseline: float
    met: bool
    fmt: str = "{:.1%}"


def summarise(by_seed: Mapping[int, Sequence[Kpis]]) -> dict[str, dict[str, Spread]]:
    """policy -> KPI field -> mean, low and high over the seeds."""
    values: dict[str, dict[str, list[float]]] = {}
    for runs in by_seed.values():
        for k in runs:
            per = values.setdefault(k.policy, {})
            for name, _, _ in SPREAD_FIELDS:
                per.setdefault(name, []).append(float(getattr(k, name)))
    return {policy: {name: Spread(sum(xs) / len(xs), min(xs), max(xs))
                     for name, xs in fields.items()}
            for policy, fields in values.items()}


def verdicts(by_seed: Mapping[int, Sequence[Kpis]]) -> list[Verdict]:
    """Each target of cpsat on each seed (only the baselines present in that seed's runs)."""
    out: list[Verdict] = []
    for seed, runs in sorted(by_seed.items()):
        by = {k.policy: k for k in runs}
        c = by.get("cpsat")
        if c is None:
            continue
        g = by.get("greedy")
        if g is not None:
            out += [
                Verdict(seed, "fills >= greedy", c.filled, g.filled, c.filled >= g.filled,
                        "{:.0f}"),
                Verdict(seed, "on time >= greedy", c.on_time_rate, g.on_time_rate,
                        c.on_time >= g.on_time),
                Verdict(seed, "cost/order <= 90% of greedy", c.cost_per_order,
                        g.cost_per_order,
                        c.cost_per_order <= (1 - COST_CUT) * g.cost_per_order, "{:,.0f}"),
                Verdict(seed, "idle capacity used >= greedy", c.idle_capacity_used,
                        g.idle_capacity_used, c.idle_capacity_used >= g.idle_capacity_used),
            ]
        s = by.get("single")
        if s is not None:
            out.append(Verdict(seed, "on time >= single + 20 points", c.on_time_rate,
                               s.on_time_rate,
                               c.on_time_rate >= s.on_time_rate + ON_TIME_GAIN_VS_SINGLE))
    return out


def markdown(by_seed: Mapping[int, Sequence[Kpis]]) -> list[str]:
    """The spread table (mean, low-high per policy) and the per-seed target checks."""
    summary = summarise(by_seed)
    policies = list(summary)
    seeds = ", ".join(str(s) for s in sorted(by_seed))
    lines = [f"KPIs over seeds {seeds}: mean (lowest-highest).", "",
             "| KPI | " + " | ".join(policies) + " |",
             "|---|" + "---|" * len(policies)]
    for name, label, fmt in SPREAD_FIELDS:
        cells = []
        for p in policies:
            sp = summary[p][name]
            cells.append(f"{fmt.format(sp.mean)} ({fmt.format(sp.low)}-{fmt.format(sp.high)})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    checks = verdicts(by_seed)
    if checks:
        met = sum(v.met for v in checks)
        lines += ["", f"Targets of cpsat, seed by seed: {met} of {len(checks)} met.", "",
                  "| seed | target | cpsat | baseline | met |", "|---|---|---|---|---|"]
        for v in checks:
            lines.append(f"| {v.seed} | {v.target} | {v.fmt.format(v.cpsat)} | "
                         f"{v.fmt.format(v.baseline)} | {'yes' if v.met else '**no**'} |")
    return lines
