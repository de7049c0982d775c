"""From a Solution (minutes, ids) to the Plan of docs/formats.md#plan, with exact durations and
prices.

The deciders work with rounded fen; here every lot is re-timed by ``lots.lot_duration_min``
and re-priced by ``domain.pricing``, so allocation costs, transport costs and totals add up.
A decider's end time is never earlier than the exact one, so re-timing keeps the plan feasible.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from domain.geo import road_km
from domain.model import (
    Allocation,
    Factory,
    Order,
    OrderPlan,
    OrderStatus,
    Plan,
    Resource,
    Scenario,
    SolverInfo,
    TransportLeg,
)
from matching.lots import lot_duration_min, lot_price
from matching.market_index import factories_by_id, resources_of
from matching.solution import Solution
from scheduling.calendar import at_minute, to_minute

Lookup = Mapping[str, tuple[Factory, Resource]]


def resource_lookup(scenario: Scenario, ids: set[str]) -> dict[str, tuple[Factory, Resource]]:
    """Factory and resource of just ``ids`` (cheaper than ``Scenario.resources`` at 10,000)."""
    indexed = resources_of(scenario, ids)
    if indexed is not None:
        return indexed
    return {r.id: (f, r) for f in scenario.factories for r in f.resources if r.id in ids}


def order_plan(scenario: Scenario, order: Order, solution: Solution,
               resources: Lookup | None = None) -> OrderPlan:
    if order.id in solution.unplaced or not solution.lots_of(order.id):
        reason = solution.unplaced.get(order.id, "no plan found within the time limit")
        return OrderPlan(order.id, OrderStatus.UNMATCHED, reason=reason)
    origin = scenario.horizon_start
    if resources is None:
        resources = resource_lookup(scenario, {x.resource for x in solution.lots_of(order.id)})
    allocations: list[Allocation] = []
    ends: dict[str, list[tuple[str, int]]] = defaultdict(list)  # step -> [(factory, end_min)]
    for lot in sorted(solution.lots_of(order.id), key=lambda x: (x.step, x.start_min)):
        factory, resource = resources[lot.resource]
        step = order.step(lot.step)
        end = lot.start_min + lot_duration_min(resource, step, lot.quantity)
        price = lot_price(order, resource, step, lot.quantity)
        assert price is not None, "candidate search only offers resources with a usable price"
        allocations.append(Allocation(
            step=lot.step, factory=factory.id, resource=resource.id, quantity=lot.quantity,
            start=at_minute(lot.start_min, origin), end=at_minute(end, origin),
            pricing=price[0], cost=round(price[1], 2)))
        ends[lot.step].append((factory.id, end))
    legs = _transport_legs(scenario, order, ends)
    completion = max(e for lots in ends.values() for _, e in lots)
    due = to_minute(order.due, origin)
    total = round(sum(a.cost for a in allocations) + sum(t.cost for t in legs), 2)
    return OrderPlan(order.id, OrderStatus.PLANNED, None, total, at_minute(completion, origin),
                     max(0, completion - due), tuple(allocations), tuple(legs))


def _transport_legs(scenario: Scenario, order: Order,
                    ends: dict[str, list[tuple[str, int]]]) -> list[TransportLeg]:
    """One truck per (from factory, to factory, step pair): leaves when its last lot is done.

    Business assumption: lots of a step that sit in the same factory travel together; the truck
    leaves when the last of them ends, and each lot of the next step starts after it arrives.
    """
    origin, t = scenario.horizon_start, scenario.transport
    factories = factories_by_id(scenario)
    legs = []
    for step in order.steps:
        to_factories = sorted({f for f, _ in ends.get(step.id, [])})
        for pred in step.after:
            departs: dict[str, int] = {}
            for f, e in ends.get(pred, []):
                departs[f] = max(departs.get(f, 0), e)
            for src in sorted(departs):
                for dst in to_factories:
                    if src == dst:
                        continue
                    a, b = factories[src], factories[dst]
                    km = road_km(a.lat, a.lon, b.lat, b.lon)
                    legs.append(TransportLeg(
                        from_factory=src, to_factory=dst, after_step=pred,
                        before_step=step.id, depart=at_minute(departs[src], origin),
                        arrive=at_minute(departs[src] + t.duration_min(km), origin),
                        km=km, cost=t.cost_cny(km)))
    return legs


def to_plan(scenario: Scenario, solution: Solution, order_ids: list[str] | None = None) -> Plan:
    """The plan (docs/formats.md) of ``order_ids`` (every order of the scenario by default)."""
    wanted = set(order_ids) if order_ids is not None else None
    lookup = resource_lookup(scenario, {x.resource for x in solution.lots})
    orders = tuple(order_plan(scenario, o, solution, lookup) for o in scenario.orders
                   if wanted is None or o.id in wanted)
    return Plan(orders, SolverInfo(solution.status, solution.objective_cny, solution.bound_cny,
                                   solution.wall_s))


def cost_breakdown(scenario: Scenario, plan: OrderPlan) -> dict[str, float]:
    """Processing, transport and tardiness penalty (objective weight x hours late) in CNY."""
    processing = round(sum(a.cost for a in plan.allocations), 2)
    transport = round(sum(t.cost for t in plan.transports), 2)
    penalty = round(plan.lateness_min / 60 * scenario.objective.tardiness_per_hour, 2)
    return {"processing": processing, "transport": transport, "tardiness_penalty": penalty,
            "total": round(processing + transport + penalty, 2)}


def plan_objective(scenario: Scenario, plan: Plan) -> float:
    """The scenario's objective of a plan in CNY (unplaced orders not counted)."""
    w = scenario.objective
    planned = [o for o in plan.orders if o.status is OrderStatus.PLANNED]
    cost = sum(o.total_cost for o in planned)
    late_h = sum(o.lateness_min for o in planned) / 60
    ends = [o.completion for o in planned if o.completion is not None]
    span_h = (max(ends) - scenario.horizon_start).total_seconds() / 3600 if ends else 0.0
    missed = sum(1 for o in planned if o.lateness_min > 0)
    return round(w.cost * cost + w.tardiness_per_hour * late_h + w.makespan_per_hour * span_h
                 + w.late_order_penalty * missed, 2)
