"""How an arriving (or re-planned) order is placed: the three policies the analyst compares.

- ``cpsat``: the platform's matching engine (``matching.engine.solve``), lots split across
  factories, CP-SAT with a small deterministic budget per order;
- ``greedy``: the engine's own greedy baseline, same market, same order;
- ``single``: the status quo without a platform: one factory must take the whole order. We
  model the customer asking the best-rated capable factories (up to ``max_quotes``) for a
  quote, each planned by the same engine on a market cut to that one factory, and taking the
  best (least cost plus tardiness penalty). A factory is capable when it has, for every step,
  a machine for that process and material.

Each policy only sees a Scenario and answers an OrderPlan: the simulation never reaches into
the engine, and the engine never sees the simulation.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from domain.model import Order, OrderPlan, OrderStatus, Plan, Scenario
from matching.engine import SolveOptions

Planner = Callable[..., Plan]
POLICY_NAMES = ("cpsat", "greedy", "single")


class Policy(Protocol):
    name: str
    # True when the policy can plan several orders in one call (``plan_all``).
    batch: bool

    def plan(self, scenario: Scenario, order_id: str) -> OrderPlan:
        """Plan ``order_id`` of ``scenario`` (its only order) on the scenario's market."""
        ...

    def plan_all(self, scenario: Scenario) -> dict[str, OrderPlan]:
        """Plan every order of ``scenario`` together (only when ``batch``)."""
        ...


def _engine_solve() -> Planner:
    from matching.engine import solve  # imported late so a stub engine can stand in for tests

    return solve


@dataclasses.dataclass
class EnginePolicy:
    """``cpsat`` or ``greedy``: hand the snapshot to the matching engine as it is."""

    name: str
    options: SolveOptions
    solver: Planner | None = None
    solver_wall_s: float = 0.0  # as the engine reports it (its model and search)
    call_wall_s: float = 0.0  # the whole solve() calls, for benchmarks only
    solves: int = 0
    batch: bool = True
    # Share of each order's lead window planned as a margin before its due date (see
    # simulations.config.SolverConfig.due_margin); 0 plans against the customer's date.
    due_margin: float = 0.0
    # Yuan per hour of finish time per unit of the booked share of the capacity the order
    # could use (see congestion_priced); 0 keeps the scenario's own makespan price.
    congestion_per_hour: float = 0.0

    def plan(self, scenario: Scenario, order_id: str) -> OrderPlan:
        return self.plan_all(scenario)[order_id]

    def plan_all(self, scenario: Scenario) -> dict[str, OrderPlan]:
        solve = self.solver or _engine_solve()
        t0 = time.perf_counter()
        asked = congestion_priced(with_margin(scenario, self.due_margin),
                                  self.congestion_per_hour)
        result = solve(asked, policy=self.name, options=self.options)
        self.call_wall_s += time.perf_counter() - t0
        self.solver_wall_s += result.solver.wall_s
        self.solves += 1
        return {o.id: o for o in result.orders}


def with_margin(scenario: Scenario, margin: float) -> Scenario:
    """``scenario`` with each order due ``margin`` of its lead window (from the scenario's
    start) earlier: the date the platform plans against, never what the customer is told."""
    if margin <= 0:
        return scenario
    start = scenario.horizon_start

    def earlier(o: Order) -> Order:
        # whole minutes, as every time the engine plans with
        lead_min = (o.due - start) // timedelta(minutes=1)
        return dataclasses.replace(o, due=o.due - timedelta(minutes=round(lead_min * margin)))

    orders = tuple(o if o.due <= start else earlier(o) for o in scenario.orders)
    return dataclasses.replace(scenario, orders=orders)


def booked_share(scenario: Scenario) -> float:
    """The share of the published capacity of the scenario's resources, from its start to the
    latest due date of its orders, that existing bookings already hold (0 to 1)."""
    start = scenario.horizon_start
    until = max((o.due for o in scenario.orders), default=start)
    if until <= start:
        return 0.0
    capacity = {r.id: r.capacity for f in scenario.factories for r in f.resources}
    offered = sum(r.capacity * (min(w.end, until) - max(w.start, start)).total_seconds()
                  for f in scenario.factories for r in f.resources for w in r.windows
                  if w.start < until and w.end > start)
    if offered <= 0:
        return 0.0
    held = sum((min(b.end, until) - max(b.start, start)).total_seconds()
               for b in scenario.bookings
               if b.resource in capacity and b.start < until and b.end > start)
    return min(1.0, held / offered)


def congestion_priced(scenario: Scenario, per_hour: float) -> Scenario:
    """``scenario`` with its makespan price raised by ``per_hour`` times its booked share.

    Why: a plan that finishes late holds capacity later orders will need and leaves today's
    idle time unused, and today's idle time perishes; the busier the market, the more an hour
    of finish time costs the orders still to come. On a quiet market the price stays near the
    scenario's own, so the cheapest plan is not given up for nothing.
    """
    if per_hour <= 0:
        return scenario
    extra = per_hour * booked_share(scenario)
    objective = dataclasses.replace(scenario.objective, makespan_per_hour=round(
        scenario.objective.makespan_per_hour + extra, 2))
    return dataclasses.replace(scenario, objective=objective)


def capable(order: Order, scenario: Scenario, factory_id: str) -> bool:
    """True when the factory has a machine for every step's process and the order's material."""
    for f in scenario.factories:
        if f.id == factory_id:
            return all(any(r.capability.fits(s.process, order.material) for r in f.resources)
                       for s in order.steps)
    return False


def penalised_cost(plan: OrderPlan, scenario: Scenario) -> float:
    """What the customer compares quotes by: price plus the tardiness penalty."""
    return plan.total_cost + scenario.objective.tardiness_per_hour * plan.lateness_min / 60.0


@dataclasses.dataclass
class SinglePolicy:
    """``single``: one factory takes the whole order (quotes from up to ``max_quotes``)."""

    options: SolveOptions
    engine: str = "cpsat"
    max_quotes: int = 5
    solver: Planner | None = None
    name: str = "single"
    solver_wall_s: float = 0.0
    call_wall_s: float = 0.0
    solves: int = 0
    batch: bool = False

    def plan(self, scenario: Scenario, order_id: str) -> OrderPlan:
        solve = self.solver or _engine_solve()
        order = next(o for o in scenario.orders if o.id == order_id)
        one_factory = dataclasses.replace(order, max_factories=1)
        ranked = sorted((f for f in scenario.factories if capable(order, scenario, f.id)),
                        key=lambda f: (-f.rating, f.id))[: self.max_quotes]
        best: OrderPlan | None = None
        for f in ranked:
            sub = dataclasses.replace(scenario, factories=(f,), orders=(one_factory,),
                                      bookings=tuple(b for b in scenario.bookings
                                                     if any(r.id == b.resource
                                                            for r in f.resources)))
            t0 = time.perf_counter()
            result = solve(sub, policy=self.engine, options=self.options)
            self.call_wall_s += time.perf_counter() - t0
            self.solver_wall_s += result.solver.wall_s
            self.solves += 1
            plan = result.order(order_id)
            if plan.status is not OrderStatus.PLANNED:
                continue
            if best is None or penalised_cost(plan, scenario) < penalised_cost(best, scenario):
                best = plan
        if best is not None:
            return best
        reason = ("no single factory can do every step" if not ranked
                  else f"none of {len(ranked)} capable factories can plan it")
        return OrderPlan(id=order_id, status=OrderStatus.UNMATCHED, reason=reason)

    def plan_all(self, scenario: Scenario) -> dict[str, OrderPlan]:
        return {o.id: self.plan(scenario, o.id) for o in scenario.orders}


def make_policy(name: str, options: SolveOptions, solver: Planner | None = None, *,
                due_margin: float = 0.0, congestion_per_hour: float = 0.0) -> Policy:
    """The policy called ``name``; ``solver`` replaces the engine (tests only)."""
    if name in ("cpsat", "greedy"):
        return EnginePolicy(name=name, options=options, solver=solver, due_margin=due_margin,
                            congestion_per_hour=congestion_per_hour)
    if name == "single":
        return SinglePolicy(options=options, solver=solver)
    raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICY_NAMES)}")
