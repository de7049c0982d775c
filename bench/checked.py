"""The engine as the benchmarks call it: every plan it returns goes through the independent checker.

``tests/matching/plan_checker.py`` re-derives the plan rules from the design without importing
``matching``; a benchmark figure only counts when every plan behind it passes. The checker lives
with the tests (it is their oracle), so it is imported when a benchmark starts, from the
repository checkout the benchmarks run in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.model import Booking, Plan, Scenario


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

    def __call__(self, scenario: Scenario, **kwargs: Any) -> Plan:
        from matching.engine import solve
        from tests.matching.plan_checker import check_plan

        plan = (self.engine or solve)(scenario, **kwargs)
        options = kwargs.get("options")
        max_lots = getattr(options, "max_lots_per_step", None)
        given = _consistent(scenario)
        problems = check_plan(given, plan, max_lots=max_lots)
        if given is not scenario:  # what the bookings broke alone is not the plan's doing
            before = set(check_plan(dataclasses.replace(given, orders=()),
                                    dataclasses.replace(plan, orders=())))
            problems = [p for p in problems if p not in before]
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


def _consistent(scenario: Scenario) -> Scenario:
    """``scenario`` with overlapping bookings of each one-lot machine merged into one.

    A simulation's snapshot can hold bookings that overlap: a lot running late on the shop
    floor and the next lot planned on the same machine. The engine must keep clear of both, so
    their union is what a plan is checked against. Service lines (capacity > 1) keep their
    bookings; a capacity breach their bookings cause alone is left out of the verdict.
    """
    capacity = {r.id: r.capacity for f in scenario.factories for r in f.resources}
    by_resource: dict[str, list[Booking]] = {}
    for b in scenario.bookings:
        by_resource.setdefault(b.resource, []).append(b)
    merged: list[Booking] = []
    changed = False
    for rid, items in by_resource.items():
        if capacity.get(rid, 1) > 1:
            merged += items
            continue
        items.sort(key=lambda b: (b.start, b.end))
        run = items[0]
        for b in items[1:]:
            if b.start < run.end:
                run = dataclasses.replace(run, end=max(run.end, b.end), order=None, step=None)
                changed = True
            else:
                merged.append(run)
                run = b
        merged.append(run)
    return dataclasses.replace(scenario, bookings=tuple(merged)) if changed else scenario
