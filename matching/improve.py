"""Large neighbourhood search over the general lot model: re-solve with a few lots freed.

The idea that served the FJSP-only search (``matching.fjsp.lns``), on the model every caller
gets: keep the incumbent plan, free a few (order, step) lots, and let CP-SAT re-place them for a
short time while every other lot keeps its resource, its size and its order on its resource
(not its start: kept lots may still shift left or right). The freed lots are drawn at random
or as a run of lots that start one after another in time, in turn. A better plan becomes the
incumbent; the neighbourhood grows when steps stop paying and shrinks when they time out.

Pure search: it reads a ``Problem`` and a ``Solution`` and returns a ``Solution``, no I/O.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from matching.cpsat import Budget, add_hint, extract, solve_model
from matching.cpsat_model import ModelVars, build_model
from matching.problem import Problem
from matching.solution import Lot, Solution


@dataclass
class ImproveStats:
    """What the search did: re-solves tried and how many improved the incumbent."""

    steps: int = 0
    improvements: int = 0


def _placed(s: Solution) -> int:
    return len({x.order for x in s.lots})


def _keep(mv: ModelVars, problem: Problem, incumbent: Solution,
          free: set[tuple[str, str]]) -> None:
    """Hard (this neighbourhood only): every lot outside ``free`` keeps its resource, its size
    and its order among the kept lots of its resource (a machine: capacity 1)."""
    m = mv.model
    by_resource: dict[str, list[tuple[int, cp_model.IntVar, cp_model.IntVar]]] = {}
    for order in problem.orders:
        if order.id in incumbent.unplaced or not incumbent.lots_of(order.id):
            continue
        m.add(mv.placed[order.id] == 1)
        for step in order.steps:
            if (order.id, step.id) in free:
                continue
            given = sorted(incumbent.lots_of(order.id, step.id), key=lambda x: -x.quantity)
            lots = mv.step_lots(order.id, step.id)
            for k, lot in enumerate(lots):
                if k >= len(given):
                    m.add(lot.present == 0)
                    continue
                g: Lot = given[k]
                if g.resource not in lot.on:
                    continue  # not a candidate in this model: the lot stays free
                m.add(lot.on[g.resource] == 1)
                if not isinstance(lot.quantity, int):
                    m.add(lot.quantity == g.quantity)
                by_resource.setdefault(g.resource, []).append((g.start_min, lot.start, lot.end))
    for rid, kept in by_resource.items():
        if problem.resources[rid].capacity != 1:
            continue  # lots side by side on a service line have no order to keep
        kept.sort(key=lambda t: t[0])
        for (_, _, end_a), (_, start_b, _) in itertools.pairwise(kept):
            m.add(start_b >= end_a)


def _neighbourhood(best: Solution, keys: list[tuple[str, str]], size: int, rng: random.Random,
                   step: int) -> set[tuple[str, str]]:
    """``size`` (order, step) pairs to free: on odd steps any pairs at random, on even steps the
    pairs whose lots start next to each other in time from a random instant (lots that compete
    for the same hours are the ones a better plan would reorder)."""
    if step % 2 or not best.lots:
        return set(rng.sample(keys, size))
    by_start = sorted(best.lots, key=lambda x: x.start_min)
    first = rng.randrange(len(by_start))
    free: set[tuple[str, str]] = set()
    for lot in by_start[first:] + by_start[:first]:
        free.add((lot.order, lot.step))
        if len(free) >= size:
            break
    return free


def improve(problem: Problem, incumbent: Solution, budget: Budget, *,
            step_s: float = 0.5, seed: int = 0,
            stats: ImproveStats | None = None) -> Solution:
    """Re-solve with a few (order, step) lots freed until ``budget.time_limit_s`` is spent;
    the incumbent only ever improves (more orders placed, then a lower objective)."""
    deadline = time.perf_counter() + budget.time_limit_s
    rng = random.Random(seed)
    stats = stats if stats is not None else ImproveStats()
    keys = [(o.id, s.id) for o in problem.orders for s in o.steps]
    if not keys:
        return incumbent
    best = incumbent
    # The first step frees nothing: it prices the incumbent in the model's own objective (a
    # greedy plan carries none), every later one is compared against that.
    priced = False
    share = 0.1  # of the (order, step) pairs freed per step; adapts below
    while (left := deadline - time.perf_counter()) > 0.05:
        size = max(2, min(len(keys), round(share * len(keys))))
        free = _neighbourhood(best, keys, size, rng, stats.steps) if priced else set()
        mv = build_model(problem)
        add_hint(mv, problem, best)
        _keep(mv, problem, best, free)
        t0 = time.perf_counter()
        solver, status = solve_model(mv, Budget(min(step_s, left), budget.workers,
                                                rng.randrange(1 << 30)))
        found = extract(mv, problem, solver, status, time.perf_counter() - t0)
        stats.steps += 1
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            share = max(0.02, share * 0.8)
            continue
        if not priced:
            priced = True
            if _placed(found) >= _placed(best):
                best = found
            continue
        if (-_placed(found), found.objective_cny) < (-_placed(best), best.objective_cny - 1e-9):
            best = found
            stats.improvements += 1
        elif status == cp_model.OPTIMAL:  # the neighbourhood was exhausted: look wider
            share = min(0.5, share * 1.2)
        else:
            share = max(0.02, share * 0.9)
    # The neighbourhoods' statuses and bounds say nothing about the whole model.
    return Solution(best.lots, best.unplaced, incumbent.status, best.objective_cny,
                    incumbent.bound_cny, incumbent.wall_s + budget.time_limit_s)
