"""Flexible job shop (FJSP) through the matching engine: the quantity-1, single-lot fast path.

Each job is an order of one piece, each operation a step, each machine a resource. Two
solvers share the parsing and the schedule format (1-based job/op/machine, start, end):
``greedy_fjsp`` is the engine's own earliest-finish list schedule on a ``Problem`` built for
the general model (the baseline), and ``solve_fjsp`` the fast path: with one piece per step
the general lot model reduces to the classical FJSP model, which ``fjsp.lns`` builds directly
(no lot or placement booleans) and improves by large neighbourhood search, side by side with
the tabu search of ``fjsp.tabu``.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from matching.cpsat import Budget
from matching.fjsp.lns import (
    Board,
    Jobs,
    LnsStats,
    build,
    flatten,
    lns,
    multi_start,
    solve_once,
    trivial_bound,
)
from matching.fjsp.tabu import TabuSearch
from matching.greedy import greedy
from matching.problem import Option, OrderFacts, Problem, ResourceFacts, StepFacts, Weights
from matching.solution import Solution

SHOP = "shop"


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


@dataclass(frozen=True, slots=True)
class FjspAnswer:
    """What a solve proved: ``bound`` is a true lower bound on the optimal makespan (the
    full model's bound or a trivial one, whichever is larger), ``status`` OPTIMAL when the
    makespan meets it."""

    makespan: int
    bound: int
    status: str
    wall_s: float
    stats: LnsStats


def solve_fjsp(jobs: Jobs, budget: Budget, *, full_share: float = 0.2,
               step_s: float = 0.5, stall_share: float = 0.25,
               refull_share: float = 0.15, tabu: bool = True) -> tuple[list[Scheduled], FjspAnswer]:
    """Multi-start dispatch, then the full CP-SAT model hinted with it for ``full_share`` of
    the budget (small instances end here, proven optimal; large ones get their bound), then
    two searches side by side sharing one incumbent (``Board``) until the deadline: the tabu
    search (``fjsp.tabu``, on ``workers // 2`` threads) and CP-SAT LNS (``fjsp.lns``, on the
    other workers). They complement each other: on mk06 and mk10 the tabu search ends 5-8
    units below LNS, on mk05 and mk07 LNS ends 3-4 below the tabu search. Whenever neither
    has improved the incumbent for ``stall_share`` of the budget, the full model runs again
    from it for ``refull_share`` with every worker, the tabu search paused (a different
    search, and a better bound: on mk05 that is where 172 came from, at 15.7 s, where the
    full model on one worker beside the tabu search had ended at 173 in three runs out of
    three), then both resume. If by then LNS has gained nothing and the tabu search has, LNS
    hands its workers to more tabu walks (other seeds) for the rest of the budget (mk10 over
    four seeds: 196-198, mean 197.0, against 197-199, mean 197.75, without the hand-over).
    ``tabu=False`` gives the CP-SAT-only engine."""
    t0 = time.perf_counter()
    deadline = t0 + budget.time_limit_s
    ops = flatten(jobs)
    board = Board(multi_start(ops, seed=budget.seed))
    bound = [trivial_bound(jobs)]  # a list: the tabu threads read the bound as it rises
    stats = LnsStats()
    tabu_threads = max(1, budget.workers // 2) if tabu else 0
    cp_workers = budget.workers
    walkers: list[threading.Thread] = []
    searches: list[TabuSearch] = []

    running = threading.Event()  # cleared while a full-model phase has every core
    counting = threading.Lock()  # several walks may post gains at once
    stall_s = max(3.0, stall_share * budget.time_limit_s)

    def walk(search: TabuSearch) -> None:
        while (now := time.perf_counter()) < deadline - 0.05 and board.best.makespan > bound[0]:
            if not running.wait(timeout=0.1):
                continue
            found = search.run(board.best, min(deadline, now + 0.25), lower=bound[0])
            if board.offer(found):
                with counting:
                    stats.tabu_improvements += 1
                    stats.trace.append((round(time.perf_counter(), 1), found.makespan))

    def start_walks(count: int) -> None:
        """``count`` more tabu walks, each with its own seed, on their own threads."""
        for _ in range(count):
            search = TabuSearch(ops, seed=budget.seed + 101 * len(searches))
            searches.append(search)
            walkers.append(threading.Thread(target=walk, args=(search,), daemon=True))
            walkers[-1].start()

    rounds = 0
    lns_retired = False
    limit = budget.time_limit_s * full_share - (time.perf_counter() - t0)
    while board.best.makespan > bound[0] and deadline - time.perf_counter() > 0.2:
        running.clear()
        found, solver, status = solve_once(build(ops, hint=board.best), ops,
                                           max(0.1, min(limit, deadline - time.perf_counter())),
                                           budget.workers,
                                           budget.seed + rounds)
        running.set()
        stats.full_phase_s += round(time.perf_counter() - t0, 2) if rounds == 0 else 0.0
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            bound[0] = max(bound[0], math.ceil(solver.best_objective_bound - 1e-6))
        if found is not None:
            board.offer(found)
        rounds += 1
        if board.best.makespan <= bound[0]:
            break
        if not walkers and tabu_threads:
            cp_workers = max(1, budget.workers - tabu_threads)
            start_walks(tabu_threads)
        if lns_retired:
            _wait_for_stall(board, deadline, stall_s, bound[0])
        else:
            lns(ops, board.best, deadline, lower=bound[0], workers=cp_workers, step_s=step_s,
                seed=budget.seed + rounds, stats=stats, stall_s=stall_s, board=board)
            if walkers and stats.improvements == 0 and stats.tabu_improvements > 0:
                lns_retired = True
                start_walks(cp_workers)
        limit = refull_share * budget.time_limit_s
    for thread in walkers:
        thread.join()
    for ts in searches:
        stats.tabu_iterations += ts.stats.iterations
        stats.tabu_restarts += ts.stats.restarts
    best = board.best
    schedule = sorted((Scheduled(o.job + 1, o.index + 1, best.machine[k], best.start[k],
                                 best.start[k] + dict(o.alts)[best.machine[k]])
                       for k, o in enumerate(ops)), key=lambda s: (s.job, s.op))
    status_name = "OPTIMAL" if best.makespan <= bound[0] else "FEASIBLE"
    return schedule, FjspAnswer(best.makespan, bound[0], status_name,
                                round(time.perf_counter() - t0, 2), stats)


def _wait_for_stall(board: Board, deadline: float, stall_s: float, lower: int) -> None:
    """Return once the incumbent has not improved for ``stall_s``, at the deadline, or at
    ``lower``."""
    last, since = board.best.key(), time.perf_counter()
    while time.perf_counter() < deadline - 0.2 and board.best.makespan > lower:
        time.sleep(0.05)
        key = board.best.key()
        if key < last:
            last, since = key, time.perf_counter()
        elif time.perf_counter() - since > stall_s:
            return


def greedy_fjsp(jobs: Jobs) -> list[Scheduled]:
    return schedule_of(greedy(fjsp_problem(jobs)))
