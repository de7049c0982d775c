"""Quote alternatives for one order: cheapest, fastest and balanced.

Hints first: earliest-finish and cheapest-first greedy plans, and greedy plans inside the best
factory layouts (``factory_sets``: which factory runs which step, searched exactly, then a hill
climb judged by greedy). Then CP-SAT, hinted:
- cheapest: money (lots + trucks) plus the scenario's tardiness penalty, on a small model held
  to the best hint's factories (where a short run can still improve lots and timing);
- fastest: completion time first, money as tie-break, on the narrowed general model;
- balanced: money / cheapest money + completion / fastest completion (both scaled to 1), same.
Every plan seen competes for each label, so a short budget never makes a quote worse than
its hints.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Literal

from ortools.sat.python import cp_model

from domain.model import Order, OrderPlan, OrderStatus, Scenario
from matching.build import build_problem, narrow
from matching.cpsat import Budget, add_hint, extract, solve_model
from matching.cpsat_model import ModelVars, build_model, cost_units
from matching.factory_sets import factory_set_hints
from matching.greedy import greedy
from matching.plan import cost_breakdown, order_plan, resource_lookup
from matching.problem import Problem, Weights
from matching.reliability import risk_cny
from matching.solution import Solution

QuoteKind = Literal["cheapest", "fastest", "balanced"]
# Greedy looks at WIDE_FACTOR times more candidates than the CP-SAT model keeps.
WIDE_FACTOR = 4
KINDS: tuple[QuoteKind, ...] = ("cheapest", "fastest", "balanced")
# Fastest: a minute of completion outweighs any money difference (money units stay < 1e12).
_MINUTE_FIRST = 10**12


def _unmatched(order: Order, reason: str) -> list[tuple[QuoteKind, OrderPlan, dict[str, float]]]:
    plan = OrderPlan(order.id, OrderStatus.UNMATCHED, reason=reason)
    zero = {"processing": 0.0, "transport": 0.0, "tardiness_penalty": 0.0, "total": 0.0}
    return [(kind, plan, dict(zero)) for kind in KINDS]


def alternatives(scenario: Scenario, order_id: str, budget: Budget, keep: int | None,
                 max_lots: int) -> list[tuple[QuoteKind, OrderPlan, dict[str, float]]]:
    order = next(o for o in scenario.orders if o.id == order_id)
    wide = None if keep is None else max(WIDE_FACTOR * keep, 20)
    problem = build_problem(scenario, order_ids=[order_id], keep_per_step=wide,
                            max_lots_per_step=max_lots, layouts=True)
    if order_id in problem.refused:
        return _unmatched(order, problem.refused[order_id])
    # Quotes always price money, whatever the scenario's cost weight.
    problem = dataclasses.replace(problem, weights=Weights(
        60, problem.weights.tardiness, 0))
    hint = greedy(problem)
    cheap_hint = min([greedy(problem, cheapest_first=True),
                      *factory_set_hints(problem, problem.orders[0],
                                         lambda sol: _score(problem, sol))],
                     key=lambda sol: _score(problem, sol))
    wide_problem = problem
    # The cheapest run searches inside the best hint's factory layout: a model small enough
    # for CP-SAT to improve the lots (splits, setups, timing) within an interactive budget,
    # where the general model never beat its hint (bench/results/quote.md).
    layout = (_layout(problem, cheap_hint) if keep is not None and cheap_hint.lots else None)
    if keep is not None:
        problem = narrow(problem, keep, [hint, cheap_hint])
    mv = build_model(problem, must_place=True)
    share = dataclasses.replace(budget, time_limit_s=budget.time_limit_s / 3,
                                deterministic_time_s=None if budget.deterministic_time_s is None
                                else budget.deterministic_time_s / 3)
    money = cost_units(mv, problem)
    late = cp_model.LinearExpr.term(mv.tardiness[order_id], problem.weights.tardiness)
    done = cp_model.LinearExpr.term(mv.completion[order_id], 1)
    current = hint if hint.lots else None
    results: dict[QuoteKind, Solution] = {}
    for kind in KINDS:
        if kind == "cheapest" and layout is not None:
            results[kind] = current = _cheapest_in(layout, order_id, share, cheap_hint)
            continue
        if kind == "cheapest":
            current = cheap_hint if cheap_hint.lots else current
            mv.model.minimize(money + late)
        elif kind == "fastest":
            current = hint if hint.lots else current
            mv.model.minimize(_MINUTE_FIRST * done + money)
        elif set(results["cheapest"].lots) == set(results["fastest"].lots):
            results[kind] = results["cheapest"]  # one plan is best at both: nothing to balance
            continue
        else:
            c_star = max(1, _money_units(wide_problem, results["cheapest"]))
            t_star = max(1, _completion(results["fastest"]))
            mv.model.minimize(t_star * (money + late) + c_star * done)
        found = _solve(mv, problem, share, current)
        if found is None:
            found = current
        if found is None:
            reason = ("no schedule fits the free windows of its candidates together with "
                      "precedence and transport within the time limit")
            return _unmatched(order, reason)
        results[kind] = current = found
    lookup = resource_lookup(scenario, set(wide_problem.resources))
    # Short budgets: a run may stop before it beats its own hint, or a later run may beat an
    # earlier one at its goal. So every plan seen (greedy hints included) competes, and each
    # label goes to the plan that is best at it.
    pool = []
    for sol in [*results.values(), *(h for h in (hint, cheap_hint) if h.lots)]:
        plan = order_plan(scenario, order, sol, lookup)
        pool.append((plan, cost_breakdown(scenario, plan)))
    # Money comparisons count the reliability risk too (matching.reliability): between equal
    # prices the punctual factory's plan wins; the quoted totals stay the real prices.
    def risked(pb: tuple[OrderPlan, dict[str, float]]) -> float:
        return pb[1]["total"] + risk_cny(scenario, pb[0])

    cheapest = min(pool, key=lambda pb: (risked(pb), _minutes(scenario, pb[0])))
    fastest = min(pool, key=lambda pb: (_minutes(scenario, pb[0]), risked(pb)))
    best_cny = max(0.01, cheapest[1]["total"])
    best_min = max(1, _minutes(scenario, fastest[0]))
    balanced = min(pool, key=lambda pb: (risked(pb) / best_cny
                                         + _minutes(scenario, pb[0]) / best_min))
    return [("cheapest", *cheapest), ("fastest", *fastest), ("balanced", *balanced)]


def _layout(problem: Problem, sol: Solution) -> Problem:
    """``problem`` with each step's options cut to the factories ``sol`` runs it in."""
    order = problem.orders[0]
    where: dict[str, set[str]] = {}
    for lot in sol.lots:
        where.setdefault(lot.step, set()).add(problem.resources[lot.resource].factory)
    steps = tuple(dataclasses.replace(s, options=tuple(
        o for o in s.options if o.factory in where.get(s.id, ()))) for s in order.steps)
    kept = {o.resource for s in steps for o in s.options}
    return dataclasses.replace(problem, orders=(dataclasses.replace(order, steps=steps),),
                               resources={r: f for r, f in problem.resources.items()
                                          if r in kept})


def _cheapest_in(layout: Problem, order_id: str, budget: Budget, hint: Solution) -> Solution:
    """The cheapest quote's CP-SAT run on the layout model, or ``hint`` if it finds nothing."""
    mv = build_model(layout, must_place=True)
    mv.model.minimize(cost_units(mv, layout) + cp_model.LinearExpr.term(
        mv.tardiness[order_id], layout.weights.tardiness))
    return _solve(mv, layout, budget, hint) or hint


def _minutes(scenario: Scenario, plan: OrderPlan) -> int:
    """Completion in minutes from the horizon start (the fastest quote's yardstick)."""
    if plan.completion is None:
        return 10**9
    return int((plan.completion - scenario.horizon_start).total_seconds() // 60)


def _solve(mv: ModelVars, problem: Problem, budget: Budget,
           hint: Solution | None) -> Solution | None:
    mv.model.clear_hints()  # type: ignore[no-untyped-call]  # untyped in ortools' stubs
    if hint is not None:
        add_hint(mv, problem, hint, must_place=True)
    t0 = time.perf_counter()
    solver, status = solve_model(mv, budget)
    sol = extract(mv, problem, solver, status, time.perf_counter() - t0)
    return sol if sol.lots else None


def _money_units(problem: Problem, sol: Solution) -> int:
    """Money of a solution in objective units, from the deciders' fen prices."""
    fen = 0
    for order in problem.orders:
        steps = {s.id: s for s in order.steps}
        factories_of: dict[str, set[str]] = {s: set() for s in steps}
        for lot in sol.lots_of(order.id):
            opt = next(o for o in steps[lot.step].options if o.resource == lot.resource)
            fen += opt.cost_fen(lot.quantity)
            factories_of[lot.step].add(opt.factory)
        for s in order.steps:
            for p in s.after:
                fen += sum(problem.leg(f, g).cost_fen for f in factories_of[p]
                           for g in factories_of[s.id])
    return fen * problem.weights.cost


def _score(problem: Problem, sol: Solution) -> int:
    """The cheapest quote's objective (money and tardiness, in units) of a one-order plan."""
    if not sol.lots:
        return 10**18
    late = max(0, _completion(sol) - problem.orders[0].due_min)
    return _money_units(problem, sol) + problem.weights.tardiness * late


def _completion(sol: Solution) -> int:
    return max((x.end_min for x in sol.lots), default=0)
