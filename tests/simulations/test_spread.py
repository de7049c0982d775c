"""KPIs over seeds: spread and the per-seed targets of the platform's policy."""

from __future__ import annotations

import dataclasses

import pytest

from simulations.kpis import Kpis
from simulations.spread import markdown, summarise, verdicts

BASE = Kpis(policy="greedy", orders=100, filled=80, unmatched=20, completed=80, on_time=60,
            late=20, on_time_rate=0.6, fill_rate=0.8, mean_lead_time_h=50.0,
            p90_lead_time_h=90.0, mean_tardiness_h=3.0, cost_per_order=1000.0,
            factories_per_order=2.0, multi_factory_orders=50, replans=3, outages=4,
            utilization=0.5, idle_capacity_used=0.1)


def kpis(policy: str, **changes: float) -> Kpis:
    return dataclasses.replace(BASE, policy=policy, **changes)  # type: ignore[arg-type]


def test_summarise__mean_low_and_high_per_policy_and_kpi() -> None:
    by_seed = {1: [kpis("cpsat", on_time_rate=0.7)], 2: [kpis("cpsat", on_time_rate=0.9)]}
    s = summarise(by_seed)["cpsat"]["on_time_rate"]
    assert (s.mean, s.low, s.high) == (pytest.approx(0.8), 0.7, 0.9)


def test_verdicts__all_targets_met_on_a_seed() -> None:
    runs = [kpis("cpsat", filled=80, on_time=61, on_time_rate=0.61, cost_per_order=900.0,
                 idle_capacity_used=0.1),
            kpis("greedy"), kpis("single", on_time_rate=0.41)]
    checks = verdicts({1: runs})
    assert [v.target for v in checks] == [
        "fills >= greedy", "on time >= greedy", "cost/order <= 90% of greedy",
        "idle capacity used >= greedy", "on time >= single + 20 points"]
    assert all(v.met for v in checks)


def test_verdicts__each_missed_target_is_reported() -> None:
    runs = [kpis("cpsat", filled=79, on_time=59, on_time_rate=0.59, cost_per_order=901.0,
                 idle_capacity_used=0.09),
            kpis("greedy"), kpis("single", on_time_rate=0.4)]
    assert [v.met for v in verdicts({3: runs})] == [False] * 5


def test_markdown__one_row_per_kpi_and_one_per_check() -> None:
    lines = markdown({1: [kpis("cpsat"), kpis("greedy")], 2: [kpis("cpsat"), kpis("greedy")]})
    assert "| on time | 60.0% (60.0%-60.0%) | 60.0% (60.0%-60.0%) |" in lines
    assert "Targets of cpsat, seed by seed: 6 of 8 met." in lines  # cost cut missed twice
