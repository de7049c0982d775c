"""The self-contained HTML report: cards, a KPI table and matplotlib figures as base64 PNGs.

One file, no outside assets, so it can be mailed or attached to a ticket as it is.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after use(): the backend must be chosen first

from simulations import spread
from simulations.kpis import (
    Kpis,
    costs_cny,
    daily_idle_used,
    lead_times_h,
    utilization_rows,
)
from simulations.runner import PolicyRun

COLORS = {"cpsat": "#1b9e77", "greedy": "#d95f02", "single": "#7570b3"}
LABELS = {"cpsat": "cpsat (matching engine)", "greedy": "greedy (engine baseline)",
          "single": "single (one factory per order)"}


def color(policy: str) -> str:
    return COLORS.get(policy, "#666666")


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e3e6eb", linewidth=0.8)
    ax.set_axisbelow(True)


def fig_lead(runs: Sequence[PolicyRun]) -> str:
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for r in runs:
        xs = sorted(lead_times_h(r.result))
        if xs:
            ys = [(i + 1) / len(r.result.orders) for i in range(len(xs))]
            ax.step(xs, ys, where="post", color=color(r.kpis.policy), label=r.kpis.policy,
                    linewidth=2)
    ax.set_xlabel("lead time, hours")
    ax.set_ylabel("share of all orders completed")
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, loc="lower right")
    _style(ax)
    return _png(fig)


def fig_cost(runs: Sequence[PolicyRun]) -> str:
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    data = [costs_cny(r.result) or [0.0] for r in runs]
    names = [r.kpis.policy for r in runs]
    box = ax.boxplot(data, patch_artist=True, showfliers=False,
                     medianprops={"color": "#1d2330"})
    ax.set_xticks(range(1, len(names) + 1), names)  # not tick_labels=: matplotlib < 3.9
    for patch, name in zip(box["boxes"], names, strict=True):
        patch.set_facecolor(color(name))
        patch.set_alpha(0.55)
    for i, r in enumerate(runs):
        ax.plot(i + 1, r.kpis.cost_per_order, marker="D", color="#1d2330", markersize=6)
        ax.annotate(f"¥{r.kpis.cost_per_order:,.0f}", (i + 1, r.kpis.cost_per_order),
                    textcoords="offset points", xytext=(10, 0), fontsize=9, va="center")
    ax.set_ylabel("CNY per filled order")
    _style(ax)
    return _png(fig)


def fig_outcome(runs: Sequence[PolicyRun]) -> str:
    fig, ax = plt.subplots(figsize=(10, 0.6 + 0.55 * len(runs)))
    parts: list[tuple[str, str, Callable[[Kpis], int]]] = [
        ("on time", "#1b9e77", lambda k: k.on_time),
        ("late", "#e6ab02", lambda k: k.late),
        ("open at end", "#a6cee3", lambda k: k.filled - k.completed),
        ("not filled", "#bbbbbb", lambda k: k.unmatched),
    ]
    names = [r.kpis.policy for r in runs][::-1]
    left = [0.0] * len(names)
    ks = [r.kpis for r in runs][::-1]
    for label, c, get in parts:
        vals = [get(k) / k.orders if k.orders else 0.0 for k in ks]
        ax.barh(names, vals, left=left, color=c, label=label, height=0.6)
        for i, v in enumerate(vals):
            if v >= 0.06:
                ax.text(left[i] + v / 2, i, f"{v:.0%}", ha="center", va="center", fontsize=9,
                        color="white" if c != "#a6cee3" else "#1d2330")
        left = [a + b for a, b in zip(left, vals, strict=True)]
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(frameon=False, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def fig_util_time(runs: Sequence[PolicyRun]) -> str:
    fig, ax = plt.subplots(figsize=(10, 3.2))
    for r in runs:
        days = daily_idle_used(r.result)
        ax.plot(range(1, len(days) + 1), days, color=color(r.kpis.policy), label=r.kpis.policy,
                linewidth=2, marker="o", markersize=3)
    if runs:
        arrival_days = runs[0].result.market.arrival_end_min / (24 * 60)
        ax.axvspan(0.5, arrival_days + 0.5, color="#eef0f4", zorder=0)
        ax.text(0.6, 0.97, "orders arriving", transform=ax.get_xaxis_transform(),
                va="top", fontsize=9, color="#5b6473")
    ax.set_xlabel("simulated day")
    ax.set_ylabel("idle capacity used")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(frameon=False)
    _style(ax)
    return _png(fig)


def _grouped(runs: Sequence[PolicyRun], scope: str, field: str, size: tuple[float, float]
             ) -> str:
    rows = {r.kpis.policy: [u for u in utilization_rows(r.result) if u.scope == scope]
            for r in runs}
    keys = [u.key for u in next(iter(rows.values()), [])]
    fig, ax = plt.subplots(figsize=size)
    width = 0.8 / max(1, len(runs))
    for i, r in enumerate(runs):
        vals = [getattr(u, field) for u in rows[r.kpis.policy]]
        ax.barh([k + (i - (len(runs) - 1) / 2) * width for k in range(len(keys))], vals,
                height=width, color=color(r.kpis.policy), label=r.kpis.policy)
    ax.set_yticks(range(len(keys)), keys, fontsize=8)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#e3e6eb", linewidth=0.8)
    ax.set_axisbelow(True)
    return _png(fig)


@dataclass(frozen=True)
class _Row:
    label: str
    field: str
    fmt: str
    better: str  # "high" | "low" | ""


_TABLE = (
    _Row("orders", "orders", "{:d}", ""),
    _Row("filled (planned on arrival)", "filled", "{:d}", "high"),
    _Row("completed", "completed", "{:d}", "high"),
    _Row("on time", "on_time", "{:d}", "high"),
    _Row("on-time rate", "on_time_rate", "{:.1%}", "high"),
    _Row("mean lead time, h", "mean_lead_time_h", "{:.1f}", "low"),
    _Row("90th percentile lead time, h", "p90_lead_time_h", "{:.1f}", "low"),
    _Row("mean tardiness of completed, h", "mean_tardiness_h", "{:.1f}", "low"),
    _Row("cost per order, CNY", "cost_per_order", "{:,.2f}", "low"),
    _Row("factories per order", "factories_per_order", "{:.2f}", ""),
    _Row("orders split across factories", "multi_factory_orders", "{:d}", ""),
    _Row("re-plans after breakdowns", "replans", "{:d}", ""),
    _Row("breakdowns", "outages", "{:d}", ""),
    _Row("idle capacity used", "idle_capacity_used", "{:.1%}", "high"),
    _Row("utilization (own + platform)", "utilization", "{:.1%}", "high"),
)

DEFINITIONS = (
    ("filled", "planned by the policy when the order arrived"),
    ("on-time rate", "orders completed by their due date / all orders (unfilled count as not "
                     "on time)"),
    ("lead time", "arrival to completion of the last lot, completed orders"),
    ("cost per order", "lot prices of the plan (time-share, per piece or by value, whichever "
                       "the order pays) plus transport legs, mean over filled orders"),
    ("idle capacity used", "platform processing time / machine time published as idle"),
    ("utilization", "(own work + platform work) / staffed machine time; own work is staffed "
                    "time not published as idle"),
    ("single", "the status quo: the customer asks the best-rated factories able to do every "
               "step for a quote and gives the whole order to the best one"),
)


def _table(kpis: Sequence[Kpis]) -> list[dict[str, Any]]:
    rows = []
    for spec in _TABLE:
        vals = [getattr(k, spec.field) for k in kpis]
        best = (max(vals) if spec.better == "high" else min(vals)) if spec.better else None
        rows.append({"label": spec.label, "cells": [
            {"text": spec.fmt.format(v), "best": best is not None and len(kpis) > 1 and v == best}
            for v in vals]})
    return rows


def _findings(kpis: Sequence[Kpis]) -> list[str]:
    by = {k.policy: k for k in kpis}
    out = []
    if "cpsat" in by and "single" in by:
        c, s = by["cpsat"], by["single"]
        out.append(f"With the platform splitting orders across factories (cpsat), "
                   f"{c.on_time} of {c.orders} orders finish on time ({c.on_time_rate:.0%}); "
                   f"with one factory per order (single), {s.on_time} ({s.on_time_rate:.0%}).")
    if "cpsat" in by and "greedy" in by:
        c, g = by["cpsat"], by["greedy"]
        diff = (c.cost_per_order - g.cost_per_order) / g.cost_per_order if g.cost_per_order else 0
        word = "less" if diff < 0 else "more"
        out.append(f"cpsat costs ¥{c.cost_per_order:,.2f} per filled order against "
                   f"¥{g.cost_per_order:,.2f} for greedy ({abs(diff):.1%} {word}); on time "
                   f"{c.on_time_rate:.0%} against {g.on_time_rate:.0%}, mean lead time "
                   f"{c.mean_lead_time_h:.0f} h against {g.mean_lead_time_h:.0f} h.")
    return out


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("simulations", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    trim_blocks=True, lstrip_blocks=True,
)


def _spread(by_seed: Mapping[int, Sequence[Kpis]]) -> dict[str, Any]:
    """The over-seeds section: mean (low-high) per KPI and policy, and the target checks."""
    summary = spread.summarise(by_seed)
    rows = [{"label": label, "cells": [
        f"{fmt.format(summary[p][name].mean)} ({fmt.format(summary[p][name].low)}-"
        f"{fmt.format(summary[p][name].high)})" for p in summary]}
        for name, label, fmt in spread.SPREAD_FIELDS]
    checks = [{"seed": v.seed, "target": v.target, "cpsat": v.fmt.format(v.cpsat),
               "baseline": v.fmt.format(v.baseline), "met": v.met}
              for v in spread.verdicts(by_seed)]
    return {"seeds": ", ".join(str(s) for s in sorted(by_seed)), "policies": list(summary),
            "rows": rows, "checks": checks, "met": sum(1 for c in checks if c["met"])}


def render_report(runs: Sequence[PolicyRun], *, title: str = "",
                  by_seed: Mapping[int, Sequence[Kpis]] | None = None,
                  provenance: str = "") -> str:
    """The report as one HTML string; ``by_seed`` adds the KPIs' spread over seeds;
    ``provenance`` says when and by which code the numbers were measured."""
    kpis = [r.kpis for r in runs]
    market = runs[0].result.market
    resources = sum(len(f.resources) for f in market.factories)
    parks = len({f.park for f in market.factories})
    arrival_days = market.arrival_end_min / (24 * 60)
    market_line = (f"{len(market.factories)} factories in {parks} parks, {resources} machines "
                   f"and service lines; {len(market.arrivals)} orders over "
                   f"{arrival_days:g} days from {market.horizon_start:%Y-%m-%d}; "
                   f"{len(market.outages)} breakdowns drawn; same market for every policy.")
    cards = [{"policy": LABELS.get(k.policy, k.policy), "color": color(k.policy),
              "on_time_pct": f"{k.on_time_rate:.0%}", "filled": k.filled, "orders": k.orders,
              "cost": f"{k.cost_per_order:,.0f}", "lead": f"{k.mean_lead_time_h:.1f}",
              "fpo": f"{k.factories_per_order:.2f}"} for k in kpis]
    figs = {
        "lead": fig_lead(runs), "cost": fig_cost(runs), "outcome": fig_outcome(runs),
        "util_time": fig_util_time(runs),
        "util_process": _grouped(runs, "process", "idle_capacity_used", (5.2, 5.0)),
        "util_park": _grouped(runs, "park", "utilization", (5.2, 3.0)),
    }
    return _ENV.get_template("report.html.j2").render(
        title=title or "ShareFab market simulation", market_line=market_line, cards=cards,
        findings=_findings(kpis), runs=[k.policy for k in kpis], table=_table(kpis), figs=figs,
        arrival_days=f"{arrival_days:g}", definitions=DEFINITIONS,
        spread=_spread(by_seed) if by_seed else None, provenance=provenance,
    )
