"""Builders for tiny hand-made markets, and a scripted solver standing in for the engine.

The scripted solver is a test double at the policy boundary (house style rule 5): it answers
fixed plans so a timeline test checks the simulation, not the engine's choices.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from domain.model import (
    Allocation,
    Factory,
    Objective,
    Order,
    OrderPlan,
    OrderStatus,
    Plan,
    Pricing,
    PricingMode,
    Resource,
    Scenario,
    SolverInfo,
    Step,
    Transport,
    Window,
)
from simulations.generator import Arrival, Market, Outage

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def resource(rid: str, process: str, windows: list[tuple[int, int]], *, capacity: int = 1,
             rate: float = 60.0) -> Resource:
    return Resource(id=rid, process=process, capacity=capacity, materials=("al6061",),
                    pricing=Pricing(time_share_per_hour=rate),
                    windows=tuple(Window(at(a), at(b)) for a, b in windows))


def factory(fid: str, resources: list[Resource], *, lat: float = 29.8,
            lon: float = 121.5, park: str = "P1") -> Factory:
    return Factory(id=fid, name=fid, park=park, lat=lat, lon=lon, rating=4.0,
                   resources=tuple(resources))


def order(oid: str, processes: list[str], *, quantity: int = 10, due_min: int = 24 * 60,
          mpp: float = 6.0) -> Order:
    steps = tuple(Step(id=f"s{i + 1}", process=p, minutes_per_piece=mpp,
                       after=(f"s{i}",) if i else ()) for i, p in enumerate(processes))
    return Order(id=oid, customer="C1", material="al6061", quantity=quantity, due=at(due_min),
                 value=1000.0, steps=steps, max_factories=3)


def market(factories: list[Factory], arrivals: list[tuple[int, Order]], *,
           outages: list[Outage] | None = None, end_min: int = 3 * 24 * 60,
           makespan_per_hour: float = 1.0) -> Market:
    shift = {r.id: end_min for f in factories for r in f.resources}
    return Market(
        horizon_start=T0, factories=tuple(factories),
        arrivals=tuple(Arrival(at_min=t, order=o) for t, o in arrivals),
        outages=tuple(outages or ()), shift_min=shift,
        transport=Transport(cost_per_km=3.0, speed_kmh=40.0, handling_min=30),
        objective=Objective(makespan_per_hour=makespan_per_hour),
        arrival_end_min=end_min, end_min=end_min,
    )


Lot = tuple[str, str, str, int, int, int]  # step, factory, resource, quantity, start, end


class ScriptedSolver:
    """Answers each order id with the lots scripted for it; records the scenarios it saw."""

    def __init__(self, script: dict[str, list[Lot]]) -> None:
        self.script = script
        self.seen: list[Scenario] = []

    def __call__(self, scenario: Scenario, *, policy: str = "cpsat",
                 options: object = None) -> Plan:
        self.seen.append(scenario)
        plans = []
        for o in scenario.orders:
            lots = self.script.get(o.id)
            if lots is None:
                plans.append(OrderPlan(id=o.id, status=OrderStatus.UNMATCHED,
                                       reason="scripted: no plan"))
                continue
            allocs = tuple(Allocation(step=s, factory=f, resource=r, quantity=q, start=at(a),
                                      end=at(b), pricing=PricingMode.TIME_SHARE,
                                      cost=float(b - a))
                           for s, f, r, q, a, b in lots)
            plans.append(OrderPlan(id=o.id, status=OrderStatus.PLANNED,
                                   total_cost=sum(x.cost for x in allocs),
                                   completion=max(x.end for x in allocs), allocations=allocs))
        return Plan(orders=tuple(plans), solver=SolverInfo(status="FEASIBLE"))


SolverFn = Callable[..., Plan]
