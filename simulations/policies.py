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

from domain.model import Order, OrderPlan, OrderStatus, Plan, Pricing, Resource, Scenario
from domain.pricing import lot_cost_cny
from matching.engine import SolveOptions
from matching.lots import lot_duration_min

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
    # Markup on the price of each resource, times the share of its time already sold (see
    # scarcity_priced); the plan is billed at the market's own prices. 0: none.
    scarcity_markup: float = 0.0
    # The markup on the share above the mean of the resource's process (relative_shares).
    scarcity_relative: bool = False

    def plan(self, scenario: Scenario, order_id: str) -> OrderPlan:
        return self.plan_all(scenario)[order_id]

    def plan_all(self, scenario: Scenario) -> dict[str, OrderPlan]:
        solve = self.solver or _engine_solve()
        t0 = time.perf_counter()
        asked = with_margin(scenario, self.due_margin)
        # Both prices read the same span of the same windows and bookings: one pass.
        sold = sold_time(asked) if self.congestion_per_hour > 0 or self.scarcity_markup > 0 \
            else None
        asked = congestion_priced(asked, self.congestion_per_hour, sold)
        asked = scarcity_priced(asked, self.scarcity_markup, relative=self.scarcity_relative,
                                sold=sold)
        result = solve(asked, policy=self.name, options=self.options)
        orders = result.orders
        if asked.factories is not scenario.factories:
            orders = tuple(at_market_prices(o, scenario) for o in orders)
        self.call_wall_s += time.perf_counter() - t0
        self.solver_wall_s += result.solver.wall_s
        self.solves += 1
        return {o.id: o for o in orders}


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


@dataclasses.dataclass(frozen=True, slots=True)
class SoldTime:
    """The scenario's published capacity-seconds from its start to its orders' latest due
    date, and the seconds bookings hold there: in all, and per resource offering time."""

    offered_total: float
    held_total: float  # every booking of the scenario's resources in the span
    offered: dict[str, float]  # per resource with time in the span
    held: dict[str, float]  # per such resource, only where > 0


def sold_time(scenario: Scenario) -> SoldTime:
    """One pass over the windows and bookings for both the market's booked share (the
    congestion price) and each resource's (the scarcity price)."""
    start = scenario.horizon_start
    until = max((o.due for o in scenario.orders), default=start)
    if until <= start:
        return SoldTime(0.0, 0.0, {}, {})
    offered_total = 0.0
    offered: dict[str, float] = {}
    ids: set[str] = set()
    for f in scenario.factories:
        for r in f.resources:
            ids.add(r.id)
            seconds = 0.0
            for w in r.windows:
                if w.start < until and w.end > start:
                    span = (min(w.end, until) - max(w.start, start)).total_seconds()
                    seconds += span
                    offered_total += r.capacity * span
            if seconds > 0:
                offered[r.id] = r.capacity * seconds
    held_total = 0.0
    held: dict[str, float] = {}
    for b in scenario.bookings:
        if b.resource in ids and b.start < until and b.end > start:
            span = (min(b.end, until) - max(b.start, start)).total_seconds()
            held_total += span
            if b.resource in offered:
                held[b.resource] = held.get(b.resource, 0.0) + span
    return SoldTime(offered_total, held_total, offered, held)


def booked_share(scenario: Scenario, sold: SoldTime | None = None) -> float:
    """The share of the published capacity of the scenario's resources, from its start to the
    latest due date of its orders, that existing bookings already hold (0 to 1).
    ``sold``: ``sold_time(scenario)`` when the caller has it already."""
    sold = sold or sold_time(scenario)
    if sold.offered_total <= 0:
        return 0.0
    return min(1.0, sold.held_total / sold.offered_total)


def congestion_priced(scenario: Scenario, per_hour: float, sold: SoldTime | None = None
                      ) -> Scenario:
    """``scenario`` with its makespan price raised by ``per_hour`` times its booked share.

    Why: a plan that finishes late holds capacity later orders will need and leaves today's
    idle time unused, and today's idle time perishes; the busier the market, the more an hour
    of finish time costs the orders still to come. On a quiet market the price stays near the
    scenario's own, so the cheapest plan is not given up for nothing.
    """
    if per_hour <= 0:
        return scenario
    extra = per_hour * booked_share(scenario, sold)
    objective = dataclasses.replace(scenario.objective, makespan_per_hour=round(
        scenario.objective.makespan_per_hour + extra, 2))
    return dataclasses.replace(scenario, objective=objective)


def sold_shares(scenario: Scenario, sold: SoldTime | None = None) -> dict[str, float]:
    """Per resource: the share of its own published capacity, from the scenario's start to the
    latest due date of its orders, that bookings already hold (0 to 1; 0 for a resource that
    offers no time in that span).

    The same measure as ``booked_share``, resource by resource: how much of that capacity the
    market has already bought, so how little of it is left for the orders still to come.
    """
    sold = sold or sold_time(scenario)
    return {rid: min(1.0, h / sold.offered[rid]) for rid, h in sold.held.items()}


def relative_shares(scenario: Scenario, sold: SoldTime | None = None) -> dict[str, float]:
    """Per resource: its ``sold_shares`` share minus the mean share of every resource of the
    same process that offers time in the span (unsold ones counted at 0), floored at 0; only
    resources above 0 are listed.

    Why: on a market where most capacity is sold to about the same share, the plain share
    raises every price alike and no longer tells the scarce resource from the rest; this one
    marks up only what is sold more than its peers, and leaves the average at its price.
    """
    sold = sold or sold_time(scenario)
    offered, held = sold.offered, sold.held
    if not held:
        return {}
    share = {rid: min(1.0, held.get(rid, 0.0) / o) for rid, o in offered.items()}
    by_process: dict[str, list[float]] = {}
    process = {}
    for f in scenario.factories:
        for r in f.resources:
            if r.id in share:
                process[r.id] = r.process
                by_process.setdefault(r.process, []).append(share[r.id])
    mean = {p: sum(v) / len(v) for p, v in by_process.items()}
    out = {rid: share[rid] - mean[process[rid]] for rid in held}
    return {rid: v for rid, v in out.items() if v > 1e-12}


def _marked_up(pricing: Pricing, factor: float) -> Pricing:
    """Every price ``pricing`` offers times ``factor`` (so the cheapest mode stays cheapest)."""
    def up(value: float | None) -> float | None:
        return None if value is None else value * factor

    return Pricing(time_share_per_hour=up(pricing.time_share_per_hour),
                   per_piece=up(pricing.per_piece), by_value_pct=up(pricing.by_value_pct))


def scarcity_priced(scenario: Scenario, markup: float, *, relative: bool = False,
                    sold: SoldTime | None = None) -> Scenario:
    """``scenario`` with each resource's prices raised by ``markup`` times the share of its
    time already sold (``sold_shares``): a resource half sold costs ``1 + markup / 2`` times
    its price in every mode.

    Why: the cheapest plan takes the cheap, well-placed capacity first, and every order after
    it finds that capacity sold up to later and later dates, so it waits for it (late, and
    holding time later orders need) or pays a dearer resource. The capacity the market has
    already bought most of is the scarcest, and a price that rises as it is sold (as a seat
    price rises as a flight fills) makes the plan weigh what it takes from the orders still to
    come: it spreads the load over idle resources while the cheap ones still have time left.
    Only the planning sees the markup: ``at_market_prices`` bills the plan at the market's own
    prices. A resource with nothing sold, and every resource when ``markup`` is 0, keeps its
    prices, and the scenario is returned as it is when nothing changes. ``relative``: the
    share above the mean of the resource's process instead (``relative_shares``).
    """
    if markup <= 0:
        return scenario
    shares = relative_shares(scenario, sold) if relative else sold_shares(scenario, sold)
    if not any(shares.values()):
        return scenario

    def priced(r: Resource) -> Resource:
        share = shares.get(r.id, 0.0)
        if share <= 0:
            return r
        return dataclasses.replace(r, pricing=_marked_up(r.pricing, 1.0 + markup * share))

    factories = tuple(dataclasses.replace(f, resources=tuple(priced(r) for r in f.resources))
                      if any(shares.get(r.id, 0.0) > 0 for r in f.resources) else f
                      for f in scenario.factories)
    return dataclasses.replace(scenario, factories=factories)


def at_market_prices(plan: OrderPlan, scenario: Scenario) -> OrderPlan:
    """``plan`` with every lot re-priced at ``scenario``'s own prices (in the lot's mode) and
    the total re-summed: what the customer pays when the plan was chosen at marked-up prices.
    Times, lots and transport legs are kept as they are."""
    if plan.status is not OrderStatus.PLANNED or not plan.allocations:
        return plan
    order = next(o for o in scenario.orders if o.id == plan.id)
    used = {a.resource for a in plan.allocations}
    resources = {r.id: r for f in scenario.factories for r in f.resources if r.id in used}
    allocations = []
    for a in plan.allocations:
        resource, step = resources[a.resource], order.step(a.step)
        cost = lot_cost_cny(a.pricing, resource, order, step, a.quantity,
                            lot_duration_min(resource, step, a.quantity))
        assert cost is not None, "the lot's mode is offered at the market's own price too"
        allocations.append(dataclasses.replace(a, cost=round(cost, 2)))
    total = round(sum(a.cost for a in allocations) + sum(t.cost for t in plan.transports), 2)
    return dataclasses.replace(plan, total_cost=total, allocations=tuple(allocations))


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
                due_margin: float = 0.0, congestion_per_hour: float = 0.0,
                scarcity_markup: float = 0.0, scarcity_relative: bool = False) -> Policy:
    """The policy called ``name``; ``solver`` replaces the engine (tests only).

    ``scarcity_markup`` is the platform engine's (``cpsat``) only: ``greedy`` is the baseline
    the platform is measured against and plans as it always has."""
    if name in ("cpsat", "greedy"):
        return EnginePolicy(name=name, options=options, solver=solver, due_margin=due_margin,
                            congestion_per_hour=congestion_per_hour,
                            scarcity_markup=scarcity_markup if name == "cpsat" else 0.0,
                            scarcity_relative=scarcity_relative and name == "cpsat")
    if name == "single":
        return SinglePolicy(options=options, solver=solver)
    raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICY_NAMES)}")
