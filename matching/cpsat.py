"""Solve and extract: run CP-SAT on a built model and read the lots back as a Solution."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from matching.cpsat_model import UNPLACED_PENALTY, ModelVars, build_model
from matching.problem import UNITS_PER_CNY, Problem
from matching.solution import Lot, Solution


@dataclass(frozen=True, slots=True)
class Budget:
    """How long and how CP-SAT searches; ``deterministic_time_s`` with 1 worker repeats exactly."""

    time_limit_s: float = 10.0
    workers: int = 2
    seed: int = 0
    deterministic_time_s: float | None = None
    # Skip probing and symmetry detection and presolve once: for the many small models of a
    # simulation, where a full presolve took longer than the 0.02 s search it prepares.
    light_presolve: bool = False


def add_hint(mv: ModelVars, problem: Problem, hint: Solution, *, must_place: bool = False) -> None:
    """Start the search from another plan (greedy): lot k of a step = its k-th largest lot."""
    m = mv.model
    for order in problem.orders:
        placed = order.id not in hint.unplaced and bool(hint.lots_of(order.id))
        if not must_place:  # when placing is forced, placed is a shared constant
            m.add_hint(mv.placed[order.id], placed)
        for step in order.steps:
            given = sorted(hint.lots_of(order.id, step.id), key=lambda x: -x.quantity)
            opts = {o.resource: o for o in step.options}
            for k, lot in enumerate(mv.step_lots(order.id, step.id)):
                if k >= len(given) or given[k].resource not in lot.on:
                    continue
                g = given[k]
                m.add_hint(lot.start, g.start_min)
                m.add_hint(lot.end, g.start_min + opts[g.resource].duration_min(g.quantity))
                if not isinstance(lot.quantity, int):
                    m.add_hint(lot.quantity, g.quantity)
                for rid, lit in lot.on.items():
                    m.add_hint(lit, rid == g.resource)


def solve_model(mv: ModelVars, budget: Budget) -> tuple[cp_model.CpSolver, Any]:
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.max_time_in_seconds = budget.time_limit_s
    p.num_workers = budget.workers
    p.random_seed = budget.seed
    if budget.deterministic_time_s is not None:
        p.max_deterministic_time = budget.deterministic_time_s
    if budget.light_presolve:
        p.cp_model_probing_level = 0
        p.symmetry_level = 0
        p.max_presolve_iterations = 1
    status = solver.solve(mv.model)
    return solver, status


def extract(mv: ModelVars, problem: Problem, solver: cp_model.CpSolver, status: Any,
            wall_s: float) -> Solution:
    """Read present lots; an order not placed gets a reason filled in by the caller."""
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        unplaced = dict(problem.refused)
        for o in problem.orders:
            unplaced.setdefault(o.id, "")
        return Solution((), unplaced, name, wall_s=wall_s)
    lots = []
    unplaced = dict(problem.refused)
    for order in problem.orders:
        if not solver.boolean_value(mv.placed[order.id]):
            unplaced[order.id] = ""
            continue
        for step in order.steps:
            opts = {o.resource: o for o in step.options}
            for lot in mv.step_lots(order.id, step.id):
                if not solver.boolean_value(lot.present):
                    continue
                rid = next(r for r, lit in lot.on.items() if solver.boolean_value(lit))
                q = order.quantity if isinstance(lot.quantity, int) else solver.value(lot.quantity)
                start = solver.value(lot.start)
                lots.append(Lot(order.id, step.id, rid, q, start,
                                start + opts[rid].duration_min(q)))
    missed = sum(1 for o in problem.orders if o.id in unplaced)
    objective = (solver.objective_value - missed * UNPLACED_PENALTY) / UNITS_PER_CNY
    bound = max(0.0, (solver.best_objective_bound - missed * UNPLACED_PENALTY) / UNITS_PER_CNY)
    return Solution(tuple(lots), unplaced, name, objective, bound, wall_s)


def run_cpsat(problem: Problem, budget: Budget, *, hint: Solution | None = None,
              must_place: bool = False) -> tuple[Solution, ModelVars, cp_model.CpSolver]:
    """Build, hint, solve, extract."""
    t0 = time.perf_counter()
    mv = build_model(problem, must_place=must_place)
    if hint is not None:
        add_hint(mv, problem, hint, must_place=must_place)
    solver, status = solve_model(mv, budget)
    return extract(mv, problem, solver, status, time.perf_counter() - t0), mv, solver
