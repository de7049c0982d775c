"""An FJSP instance as a market, so ``bench fjsp`` measures the engine the platform runs.

A flexible job shop is a small market: each job is an order of one piece whose operations are a
chain of steps, each machine a resource of one factory (so there is no transport), and an
operation's time on a machine is that step's own cycle time on that resource (the
``minutes_per_piece_on`` extension of the scenario format, docs/formats.md), restricted to the
machines the instance lists (``only_on``). The objective prices nothing but the makespan
(``makespan_per_hour`` 1 CNY, cost and tardiness 0), which the engine's objective expresses
exactly: the largest completion over the orders. One time unit of the instance is one minute.

``solve_as_market`` runs ``matching.engine.solve`` (what the batch solve calls) through the
independent plan checker (``bench.checked``), and reads the plan back as an FJSP schedule that
``bench.fjsp.check_schedule`` checks again against the instance itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.checked import CheckedSolve
from domain.model import (
    Factory,
    Objective,
    Order,
    OrderStatus,
    Plan,
    Pricing,
    Resource,
    Scenario,
    Step,
    Transport,
    Window,
)
from matching.engine import SolveOptions, Solver
from matching.fjsp import Scheduled
from matching.fjsp.lns import Jobs

T0 = datetime(2026, 1, 5, tzinfo=UTC)
SHOP = "SHOP"
# Any process code of the taxonomy: every machine offers the same one, eligibility is only_on.
PROCESS = "machining.cnc_milling"


def machine_id(m: int) -> str:
    return f"M{m}"


def horizon_min(jobs: Jobs) -> int:
    """Every operation on its slowest machine, one after another: no schedule needs longer."""
    return sum(max(p for _, p in alts) for ops in jobs for alts in ops)


def to_scenario(jobs: Jobs) -> Scenario:
    """The market of ``jobs`` (1-based machines): one factory, one resource per machine."""
    end = T0 + timedelta(minutes=horizon_min(jobs))
    machines = sorted({m for ops in jobs for alts in ops for m, _ in alts})
    # The price is never charged (objective cost weight 0) but a resource must offer a mode.
    resources = tuple(Resource(machine_id(m), PROCESS, pricing=Pricing(time_share_per_hour=60.0),
                               windows=(Window(T0, end),)) for m in machines)
    shop = Factory(SHOP, "FJSP shop", "fjsp", 31.23, 121.47, resources=resources)
    orders = []
    for j, ops in enumerate(jobs, start=1):
        steps = tuple(
            Step(f"o{i}", PROCESS,
                 # the format requires a default; every eligible machine names its own time
                 minutes_per_piece=float(max(p for _, p in alts)),
                 after=(f"o{i - 1}",) if i > 1 else (),
                 minutes_per_piece_on=tuple((machine_id(m), float(p)) for m, p in alts),
                 only_on=tuple(machine_id(m) for m, _ in alts))
            for i, alts in enumerate(ops, start=1))
        orders.append(Order(f"J{j}", "fjsp", "any", 1, end, 0.0, steps, max_factories=1))
    return Scenario(T0, (shop,), tuple(orders), Transport(),
                    Objective(cost=0.0, tardiness_per_hour=0.0, makespan_per_hour=1.0))


def schedule_of(plan: Plan) -> list[Scheduled]:
    """The plan's lots as 1-based FJSP operations (minutes from T0)."""
    out = []
    for order in plan.orders:
        if order.status is not OrderStatus.PLANNED:
            raise AssertionError(f"job {order.id} not planned: {order.reason}")
        for a in order.allocations:
            start = round((a.start - T0).total_seconds() / 60)
            end = round((a.end - T0).total_seconds() / 60)
            out.append(Scheduled(int(order.id[1:]), int(a.step[1:]), int(a.resource[1:]),
                                 start, end))
    return sorted(out, key=lambda s: (s.job, s.op))


@dataclass(frozen=True, slots=True)
class MarketAnswer:
    """What the platform's solve returned: its schedule, the solver's status and bound."""

    schedule: list[Scheduled]
    status: str
    bound_min: float  # the engine's objective bound in CNY at 1 CNY/h, as minutes
    wall_s: float


def solve_as_market(jobs: Jobs, *, time_limit_s: float, workers: int = 2, seed: int = 0,
                    policy: Solver = "cpsat", improve_share: float = 0.0) -> MarketAnswer:
    """``matching.engine.solve`` on the market of ``jobs``, its plan checked by the
    independent plan checker (a broken plan raises ``bench.checked.PlanRejectedError``).
    Options are the engine's defaults but the time limit, the workers and the seed;
    ``policy="greedy"`` is the engine's own baseline on the same market; ``improve_share``
    the engine's opt-in large neighbourhood search (``matching.improve``)."""
    scenario = to_scenario(jobs)
    t0 = time.perf_counter()
    plan = CheckedSolve()(scenario, policy=policy,
                          options=SolveOptions(time_limit_s=time_limit_s, workers=workers,
                                               seed=seed, improve_share=improve_share))
    wall = time.perf_counter() - t0
    # objective = makespan_per_hour (1 CNY) x hours: the bound in minutes is 60 x CNY
    return MarketAnswer(schedule_of(plan), plan.solver.status, 60.0 * plan.solver.bound,
                        round(wall, 2))
