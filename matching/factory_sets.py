"""Hints for one order when max_factories is tight: pick the factories first, then the lots.

Step-by-step greedy is myopic: an early step placed in a convenient factory can use up the
order's factory budget and leave later steps only bad choices. Here we enumerate small sets of
"hub" factories that together cover every step, run the objective-aware greedy inside each
set, and keep the best plans as CP-SAT hints.
"""

from __future__ import annotations

import dataclasses
import heapq
from itertools import combinations

from matching.greedy import greedy
from matching.problem import OrderFacts, Problem
from matching.solution import Solution

HUBS = 8  # factories considered (by steps covered, then price)
SETS = 8  # factory sets tried (by estimated price)


def _estimate_fen(order: OrderFacts, factories: frozenset[str]) -> int | None:
    """Cheapest single-lot price of every step inside ``factories`` (None: a step is uncovered)."""
    total = 0
    for s in order.steps:
        prices = [o.cost_fen(order.quantity) for o in s.options if o.factory in factories]
        if not prices:
            return None
        total += min(prices)
    return total


def factory_set_hints(problem: Problem, order: OrderFacts) -> list[Solution]:
    """Greedy plans, each inside one small set of factories covering every step."""
    if order.max_factories >= len(order.steps):
        return []
    covers: dict[str, int] = {}
    for s in order.steps:
        for f in {o.factory for o in s.options}:
            covers[f] = covers.get(f, 0) + 1
    hubs = heapq.nsmallest(HUBS, covers, key=lambda f: (
        -covers[f], min(o.cost_fen(order.quantity) for s in order.steps for o in s.options
                        if o.factory == f), f))
    sets = []
    for size in range(1, order.max_factories + 1):
        for combo in combinations(sorted(hubs), size):
            chosen = frozenset(combo)
            fen = _estimate_fen(order, chosen)
            if fen is not None:
                sets.append((fen, combo))
    found = []
    for _, combo in heapq.nsmallest(SETS, sets):
        inside = dataclasses.replace(order, steps=tuple(
            dataclasses.replace(s, options=tuple(o for o in s.options if o.factory in combo))
            for s in order.steps))
        sol = greedy(dataclasses.replace(problem, orders=(inside,), refused={}),
                     cheapest_first=True)
        if sol.lots:
            found.append(sol)
    return found
