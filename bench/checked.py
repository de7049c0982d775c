"""The engine as the benchmarks call it: every plan it returns goes through the independent checker.

``tests/matching/plan_checker.py`` re-derives the plan rules from the design without importing
``matching``; a benchmark figure only counts when every plan behind it passes. The checker lives
with the tests (it is their oracle), so it is imported when a benchmark starts, from the
repository checkout the benchmarks run in.

Bookings that already overlap (a simulation's lot running late on the shop floor beside the
next lot planned on the same machine or line) are the checker's business: it blames a plan only
for its own lots at an instant that is full (``plan_checker._check_capacity``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.model import Plan, Scenario


class PlanRejectedError(AssertionError):
    """A plan the engine returned broke a rule the independent checker knows."""


@dataclass
class CheckedSolve:
    """A drop-in ``matching.engine.solve`` that checks each plan; counts what it checked."""

    plans: int = 0
    orders: int = 0
    engine: Callable[..., Plan] | None = None  # None: matching.engine.solve (tests swap it)
    # strict: a broken plan raises; otherwise it is counted and its first findings kept, so a
    # long benchmark reports how many plans broke which rule instead of stopping half-way.
    strict: bool = True
    rejected: int = 0
    findings: list[str] = field(default_factory=list)
    check_cpu_s: float = 0.0  # CPU time spent checking, which a benchmark leaves out of its figure

    def __call__(self, scenario: Scenario, **kwargs: Any) -> Plan:
        from matching.engine import solve
        from tests.matching.plan_checker import check_plan

        plan = (self.engine or solve)(scenario, **kwargs)
        options = kwargs.get("options")
        max_lots = getattr(options, "max_lots_per_step", None)
        c0 = time.process_time()
        problems = check_plan(scenario, plan, max_lots=max_lots)
        self.check_cpu_s += time.process_time() - c0
        self.plans += 1
        if problems:
            message = (f"plan {self.plans} broke {len(problems)} rules: "
                       + "; ".join(problems[:5]))
            if self.strict:
                raise PlanRejectedError(message)
            self.rejected += 1
            if len(self.findings) < 5:
                self.findings.append(message)
        self.orders += len(plan.orders)
        return plan

