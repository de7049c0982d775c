"""The matching engine's public face: what services, simulations and benches call.

Every caller goes through ``solve`` and ``quote``; nobody builds a CP-SAT model by hand.
Pipeline: ``build.build_problem`` (candidates, free intervals, pre-checks) -> a decider
(``greedy.greedy`` or CP-SAT via ``cpsat.run_cpsat``, hinted by greedy) -> ``plan.to_plan``
(exact durations and prices).
"""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from domain.model import OrderPlan, OrderStatus, Plan, Scenario
from matching import quotes
from matching.build import build_problem, narrow
from matching.cpsat import Budget, run_cpsat
from matching.greedy import greedy
from matching.improve import improve
from matching.plan import plan_objective, to_plan
from matching.problem import Problem
from matching.quotes import WIDE_FACTOR, QuoteKind
from matching.solution import Solution
from matching.walk import walk

# Share of a walking solve's budget for the last CP-SAT run, hinted with the walk's plan.
POLISH_SHARE = 0.2

# Which decider plans (a market policy of the simulation is simulations.policies.Policy).
Solver = Literal["cpsat", "greedy"]


@dataclass(frozen=True, slots=True)
class SolveOptions:
    """Search budget. With ``workers=1`` and ``deterministic_time_s`` set, a run repeats exactly.

    ``candidates_per_step``: the cheapest and earliest few resources kept per step before the
    model is built (None keeps all). ``time_limit_s`` in ``quote`` is shared by the three
    alternatives.
    """

    time_limit_s: float = 10.0
    workers: int = 2
    seed: int = 0
    deterministic_time_s: float | None = None
    max_lots_per_step: int = 3
    candidates_per_step: int | None = 12
    light_presolve: bool = False  # see cpsat.Budget
    # Share of time_limit_s that ``solve`` gives to large neighbourhood search after the full
    # model (matching.improve); 0 keeps the single CP-SAT solve. Opt-in until it is measured
    # on multi-order markets (bench/results/fjsp.md has the FJSP figures).
    improve_share: float = 0.0
    # Share of the budget the tabu walk over the lot model (matching.walk) gets after the first
    # CP-SAT solve, when time_limit_s is at least walk_min_s (batch solves, repair, the FJSP
    # bench; never a 60 ms quote). CP-SAT, hinted with the walk's plan, has POLISH_SHARE after.
    walk_share: float = 0.4
    walk_min_s: float = 2.0

    def __post_init__(self) -> None:
        for name in ("time_limit_s", "workers", "max_lots_per_step"):
            if getattr(self, name) <= 0:
                raise ValueError(f"SolveOptions.{name} must be positive, got {getattr(self, name)}")
        if self.deterministic_time_s is not None and self.deterministic_time_s <= 0:
            raise ValueError("SolveOptions.deterministic_time_s must be positive or None")
        if self.candidates_per_step is not None and self.candidates_per_step < 1:
            raise ValueError("SolveOptions.candidates_per_step must be >= 1 or None")
        if not 0.0 <= self.improve_share < 1.0:
            raise ValueError("SolveOptions.improve_share must be in [0, 1)")
        if not 0.0 <= self.walk_share <= 1.0 - POLISH_SHARE - 0.1:
            raise ValueError(f"SolveOptions.walk_share must be in [0, {0.9 - POLISH_SHARE:g}]")

    def budget(self, share: float = 1.0) -> Budget:
        det = None if self.deterministic_time_s is None else self.deterministic_time_s * share
        return Budget(self.time_limit_s * share, self.workers, self.seed, det,
                      self.light_presolve)


@dataclass(frozen=True, slots=True)
class Quote:
    """One priced alternative for one order (cheapest, fastest or balanced)."""

    kind: QuoteKind
    plan: OrderPlan
    # "processing", "transport", "tardiness_penalty" and their "total", in CNY
    cost_breakdown: dict[str, float]


def solve(scenario: Scenario, *, policy: Solver = "cpsat",
          options: SolveOptions | None = None) -> Plan:
    """Plan every order of ``scenario`` on its shared resources (batch mode).

    Orders that cannot be met come back ``unmatched`` with a reason; they never make the other
    orders fail. If CP-SAT finds no plan within the budget, the greedy plan (its hint) is
    returned with the solver status CP-SAT reported.
    """
    t0 = time.perf_counter()
    opts = options or SolveOptions()
    if policy not in ("cpsat", "greedy"):
        raise ValueError(f"policy must be 'cpsat' or 'greedy', not {policy!r}")
    keep = opts.candidates_per_step
    # Greedy is cheap: it looks at WIDE_FACTOR times more candidates than the CP-SAT model.
    problem = build_problem(scenario, keep_per_step=None if keep is None else WIDE_FACTOR * keep,
                            max_lots_per_step=opts.max_lots_per_step)
    baseline = greedy(problem)
    if policy == "greedy":
        plan = to_plan(scenario, _explain(problem, baseline, baseline))
        return dataclasses.replace(plan, solver=dataclasses.replace(
            plan.solver, objective=plan_objective(scenario, plan), bound=0.0))
    hint = _better(scenario, baseline, greedy(problem, cheapest_first=True))
    model_problem = problem if keep is None else narrow(problem, keep, [baseline, hint])
    # When the hint places every order, so does the optimum (an unplaced order costs more than
    # any plan), so placement can be a constant: no placement literal, every lot present,
    # precedences unconditional. On FJSP mk07 that alone moved the bound after 10 s from 125
    # to 139 (proven) once the load cuts were in (cpsat_model.add_load_cuts).
    must_place = places_all(model_problem, hint)
    # Wall-clock bound: off when a run must repeat exactly (deterministic_time_s).
    walking = (opts.walk_share > 0 and opts.time_limit_s >= opts.walk_min_s
               and opts.deterministic_time_s is None)
    search_share = 1.0 - opts.improve_share
    first = search_share * (1.0 - opts.walk_share - POLISH_SHARE) if walking else search_share
    found, _, _ = run_cpsat(model_problem, opts.budget(first), hint=hint, must_place=must_place)
    if _better(scenario, found, hint) is not found:  # a budget too short to load the hint
        found = dataclasses.replace(
            hint, status=found.status, bound_cny=found.bound_cny, wall_s=found.wall_s,
            objective_cny=plan_objective(scenario, to_plan(scenario, hint)))
    if walking and found.status != "OPTIMAL" and found.lots:
        left = max(0.0, opts.time_limit_s * search_share - (time.perf_counter() - t0))
        found = _walk_and_polish(scenario, model_problem, found, opts, left)
    if opts.improve_share and found.status != "OPTIMAL" and found.lots:
        better = improve(model_problem, found, opts.budget(opts.improve_share), seed=opts.seed)
        found = _better(scenario, better, found)
    return to_plan(scenario, _explain(problem, found, baseline))


def _walk_and_polish(scenario: Scenario, problem: Problem, found: Solution,
                     opts: SolveOptions, left_s: float) -> Solution:
    """The tabu walk (``matching.walk``) from CP-SAT's plan for most of ``left_s``, then CP-SAT
    again hinted with the walk's plan for the rest (``POLISH_SHARE`` of the budget): the walk
    moves whole lots between resources and along their sequences far faster than CP-SAT's
    own neighbourhoods, CP-SAT then shifts and re-sizes lots around the walk's plan and may
    prove it. The bound kept is the better of the two CP-SAT runs'; a step that does not pay
    leaves the plan as it was."""
    total = opts.walk_share + POLISH_SHARE
    t_walk = left_s * opts.walk_share / total
    walked = walk(problem, found, t_walk, seed=opts.seed)
    if walked is found:
        return found
    walked = dataclasses.replace(
        walked, objective_cny=plan_objective(scenario, to_plan(scenario, walked)))
    polish_s = left_s - t_walk
    best = _better(scenario, walked, found)
    if polish_s >= 0.2 and best is walked:
        again, _, _ = run_cpsat(problem, dataclasses.replace(opts.budget(), time_limit_s=polish_s),
                                hint=walked, must_place=places_all(problem, walked))
        if again.lots and _better(scenario, again, walked) is again:
            best = again
        bound = max(found.bound_cny, again.bound_cny)
        status = again.status if best is again else found.status
        if again.status == "OPTIMAL" and best is not again:
            status = "FEASIBLE"
        return dataclasses.replace(best, bound_cny=bound, status=status)
    return dataclasses.replace(best, bound_cny=found.bound_cny, status=found.status)


def places_all(problem: Problem, solution: Solution) -> bool:
    """Every order of ``problem`` (pre-check refusals aside) has lots in ``solution``."""
    return all(o.id not in solution.unplaced and solution.lots_of(o.id) for o in problem.orders)


def _better(scenario: Scenario, a: Solution, b: Solution) -> Solution:
    """The solution placing more orders, then the one with the lower scenario objective."""
    def key(s: Solution) -> tuple[int, float]:
        plan = to_plan(scenario, s)
        placed = sum(1 for o in plan.orders if o.status is OrderStatus.PLANNED)
        return (-placed, plan_objective(scenario, plan))
    return a if key(a) <= key(b) else b


def _explain(problem: Problem, solution: Solution, baseline: Solution) -> Solution:
    """Fill in a reason for every unplaced order that has none yet."""
    reasons = dict(solution.unplaced)
    for order in problem.orders:
        if order.id not in reasons or reasons[order.id]:
            continue
        alone = greedy(dataclasses.replace(problem, orders=(order,), refused={}))
        if order.id in alone.unplaced:
            reasons[order.id] = alone.unplaced[order.id]
        elif solution.status not in ("OPTIMAL", "FEASIBLE"):
            reasons[order.id] = f"no plan found within the time limit (solver {solution.status})"
        else:
            reasons[order.id] = ("the free windows it needs are taken by other orders of this "
                                 "batch (it fits when planned alone)")
    return dataclasses.replace(solution, unplaced=reasons)


# The library's interactive budget, for a caller of ``quote`` that passes no options (tests,
# scripts). The API does not use it: its quotes take the settings quote_default_time_limit_s
# and quote_candidates_per_step (docs/operations.md), chosen from the curve of bench/quote.py.
# Here greedy and the factory-layout search look at WIDE_FACTOR x 8 candidates
# per step; CP-SAT shares 0.06 s between the three alternatives (the cheapest on the best
# layout's factories, the others on 8 candidates per step). Measured (bench/results/quote.md):
# the layout search carries the savings; CP-SAT added 1.4 % on 1 of 24 generated markets and
# more time (up to 0.5 s) bought nothing more, so the rest of the 300 ms p95 stays headroom.
QUOTE_DEFAULTS = SolveOptions(time_limit_s=0.06, candidates_per_step=8)


def quote(scenario: Scenario, order_id: str, *,
          options: SolveOptions | None = None) -> list[Quote]:
    """Alternatives for one order against the market and its existing bookings.

    Returns cheapest, fastest and balanced quotes (in that order). An order that cannot be met
    gets the same three kinds, each an ``unmatched`` plan carrying the reason.
    """
    if not any(o.id == order_id for o in scenario.orders):
        raise ValueError(f"order_id {order_id!r} is not an order of the scenario")
    opts = options or QUOTE_DEFAULTS
    with cyclic_gc_paused():
        return [Quote(kind, plan, breakdown)
                for kind, plan, breakdown in quotes.alternatives(
                    scenario, order_id, opts.budget(), opts.candidates_per_step,
                    opts.max_lots_per_step)]


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector off for one interactive quote (and, in the API,
    while its market view is cut: services/scenario/market_view.py).

    A quote allocates enough small objects to trigger collections, and a full (oldest
    generation) pass walks every live object, the whole market included: ~100-130 ms for
    10,000 resources, which hit one quote in six or seven and set the p95 (bench/quote.py).
    Reference counting still frees the quote's garbage at once; cycles wait for the next
    collection after the quote. Only the caller that paused the collector turns it back on.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
