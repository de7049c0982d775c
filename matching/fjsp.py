"""Flexible job shop (FJSP) through the matching engine: the quantity-1, single-lot fast path.

Each job is an order of one piece, each operation a step, each machine a resource of one
factory with a window covering the whole horizon. With one piece every step has exactly one
lot, so the same model functions build the classical FJSP model: one optional fixed-size
interval per (operation, eligible machine), exactly one present, a no-overlap per machine,
precedence along each job, makespan minimised. The Problem is built directly (an operation's
duration depends on the machine, which a Scenario's one-process resources cannot express).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from matching.cpsat import Budget, run_cpsat
from matching.greedy import greedy
from matching.problem import Option, OrderFacts, Problem, ResourceFacts, StepFacts, Weights
from matching.solution import Solution

SHOP = "shop"

# jobs[j][i] = the alternatives (machine 1-based, processing time) of operation i of job j.
Jobs = list[list[list[tuple[int, int]]]]


@dataclass(frozen=True, slots=True)
class Scheduled:
    """One operation in the schedule, 1-based as in the instance files."""

    job: int
    op: int
    machine: int
    start: int
    end: int


def parse_fjs(text: str) -> Jobs:
    """Brandimarte-format text as a token stream (header n m f, then one job per block)."""
    tokens = text.split()
    n_jobs = int(tokens[0])
    pos = 3  # the flexibility field is informational only
    jobs: Jobs = []
    for _ in range(n_jobs):
        n_ops = int(tokens[pos])
        pos += 1
        ops = []
        for _ in range(n_ops):
            n_alt = int(tokens[pos])
            pos += 1
            alts = []
            for _ in range(n_alt):
                alts.append((int(tokens[pos]), int(tokens[pos + 1])))
                pos += 2
            ops.append(alts)
        jobs.append(ops)
    return jobs


def fjsp_problem(jobs: Jobs) -> Problem:
    horizon = sum(max(p for _, p in alts) for ops in jobs for alts in ops)
    machines = sorted({m for ops in jobs for alts in ops for m, _ in alts})
    resources = {f"M{m}": ResourceFacts(f"M{m}", SHOP, 1, ((0, horizon),)) for m in machines}
    orders = []
    for j, ops in enumerate(jobs, start=1):
        steps = tuple(
            StepFacts(f"o{i}", "fjsp.operation", (f"o{i - 1}",) if i > 1 else (),
                      tuple(Option(f"M{m}", SHOP, 0, p, 1) for m, p in alts))
            for i, alts in enumerate(ops, start=1))
        orders.append(OrderFacts(f"J{j}", 1, 1, 1, horizon, steps))
    return Problem(horizon, resources, tuple(orders), Weights(cost=0, tardiness=0, makespan=1),
                   max_lots_per_step=1)


def schedule_of(solution: Solution) -> list[Scheduled]:
    out = [Scheduled(int(x.order[1:]), int(x.step[1:]), int(x.resource[1:]), x.start_min,
                     x.end_min) for x in solution.lots]
    return sorted(out, key=lambda s: (s.job, s.op))


def makespan(schedule: list[Scheduled]) -> int:
    return max((s.end for s in schedule), default=0)


def fast_alternatives(jobs: Jobs, factor: float = 2.0) -> Jobs:
    """Each operation keeps the machines at most ``factor`` times slower than its fastest.

    The engine's candidate pruning, FJSP flavour: the pruned model is far smaller, so CP-SAT
    reaches a good schedule sooner; the full model then starts from it and may still use a
    slow machine where that pays.
    """
    return [[[(m, p) for m, p in alts if p <= factor * min(q for _, q in alts)] for alts in ops]
            for ops in jobs]


# Widening phases: (slowest machine kept, as a multiple of the fastest; share of the budget).
# The last phase is the full model and gets whatever time is left.
PHASES: tuple[tuple[float, float], ...] = ((1.5, 0.2), (2.0, 0.3))


def solve_fjsp(jobs: Jobs, budget: Budget,
               phases: tuple[tuple[float, float], ...] = PHASES
               ) -> tuple[list[Scheduled], Solution]:
    """Greedy-hinted CP-SAT on ever wider candidate sets, each phase hinted with the best
    schedule so far (a phase stops early when its pruned model is proven optimal); the last
    phase is the full model, so its bound is a true bound. Returns schedule and answer."""
    t0 = time.perf_counter()
    best: Solution | None = None
    found: Solution | None = None
    for factor, share in [*phases, (0.0, 1.0)]:
        last = factor == 0.0
        problem = fjsp_problem(jobs if last else fast_alternatives(jobs, factor))
        left = budget.time_limit_s - (time.perf_counter() - t0)
        limit = max(0.1, left if last else min(left, budget.time_limit_s * share))
        hint = best if best is not None else greedy(problem)
        found, _, _ = run_cpsat(problem, dataclasses.replace(budget, time_limit_s=limit),
                                hint=hint, must_place=True)
        if found.lots and (best is None or makespan(schedule_of(found))
                           <= makespan(schedule_of(best))):
            best = found
    assert found is not None
    if best is None:
        best = greedy(fjsp_problem(jobs))
    # Report the full model's status and bound with the best schedule seen.
    answer = dataclasses.replace(best, status=found.status, bound_cny=found.bound_cny)
    return schedule_of(answer), answer


def greedy_fjsp(jobs: Jobs) -> list[Scheduled]:
    return schedule_of(greedy(fjsp_problem(jobs)))
