"""Which factory runs which step: the order's factory assignment, searched before the lots.

With ``max_factories`` below the number of steps, the cheapest plan is rarely "the cheapest
resource per step": some factories must host several steps, and the best such hubs are often
not cheap for any single step (a market of 1,000 showed a 1.8x gap from this alone). Picking
the factories first is a tiny problem, solved exactly here for up to ``MAX_EXACT_STEPS`` steps:

- every group of steps (a subset) gets its best hosts: the factories running all of the group,
  by summed single-lot cost;
- every partition of the steps into at most ``max_factories`` groups is one factory layout;
  its hosts' costs plus the trucks along the precedence edges price it (windows ignored).

The best few assignments then steer candidate pruning (``build``) and seed greedy hints for
CP-SAT (``factory_set_hints``). Timing is left to greedy and CP-SAT, which see the windows.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence

from matching.greedy import greedy
from matching.problem import OrderFacts, Problem, StepFacts
from matching.solution import Solution

# Set partitions grow like Bell numbers: 4,140 layouts for 8 steps, 115,975 for 10.
MAX_EXACT_STEPS = 8
HOSTS_PER_GROUP = 4  # best factories tried per group of steps (the market-wide rough cut)
# The same, on one order's own candidates (``problem_assignments``): keeping only the 4
# cheapest hosts of a group misses layouts where a dearer host saves trucks, e.g. a factory
# running steps 1 and 3 beside its neighbour running step 2 (bench quote, 1,000 resources,
# order O6: 842 CNY with 4 against 775 with 12, the 30 s solve's plan).
QUOTE_HOSTS_PER_GROUP = 12
ASSIGNMENTS = 24  # assignments kept (distinct layouts, cheapest first)

# The hill climb: greedy runs allowed, factories tried per step, starting assignments.
SEARCH_EVALUATIONS = 120
SEARCH_HOSTS = 6
SEARCH_STARTS = 3
KEEP_HINTS = 8  # plans handed on as hints (best first)

FactoryLayout = dict[str, str]  # step id -> factory id


def _partitions(n: int, most: int) -> Iterator[list[list[int]]]:
    """Set partitions of range(n) into at most ``most`` blocks (restricted growth strings)."""
    def grow(i: int, blocks: list[list[int]]) -> Iterator[list[list[int]]]:
        if i == n:
            yield blocks
            return
        for b in blocks:
            b.append(i)
            yield from grow(i + 1, blocks)
            b.pop()
        if len(blocks) < most:
            blocks.append([i])
            yield from grow(i + 1, blocks)
            blocks.pop()
    yield from grow(0, [])


def best_assignments(steps: Sequence[tuple[str, Sequence[str]]],
                     cost: Mapping[str, Mapping[str, float]],
                     leg_cost: Callable[[str, str], float], max_factories: int,
                     top: int = ASSIGNMENTS, hosts_per_group: int = HOSTS_PER_GROUP
                     ) -> list[tuple[float, FactoryLayout]]:
    """The ``top`` cheapest step -> factory assignments using at most ``max_factories``.

    ``steps``: (id, predecessors) pairs; ``cost[step][factory]``: the step's whole quantity in
    that factory (absent: the factory cannot run it); ``leg_cost``: one truck between two
    factories. Exact for the cost model above when every group keeps its ``hosts_per_group``
    best hosts; [] if some step has no factory or there are more than MAX_EXACT_STEPS steps.
    """
    n = len(steps)
    if n == 0 or n > MAX_EXACT_STEPS or any(not cost.get(s) for s, _ in steps):
        return []
    ids = [s for s, _ in steps]
    edges = [(p, s) for s, after in steps for p in after]
    by_factory: dict[str, dict[int, float]] = {}
    for i, sid in enumerate(ids):
        for f, c in cost[sid].items():
            by_factory.setdefault(f, {})[i] = c
    # Factories by the set of steps they run (a bit mask): a group of two or more steps looks
    # only at the factories whose mask contains it.
    by_mask: dict[int, list[tuple[str, dict[int, float]]]] = {}
    for f, d in by_factory.items():
        if len(d) > 1:
            by_mask.setdefault(sum(1 << i for i in d), []).append((f, d))
    hosts: dict[tuple[int, ...], list[tuple[float, str]]] = {}

    def hosts_of(block: tuple[int, ...]) -> list[tuple[float, str]]:
        if block not in hosts:
            if len(block) == 1:
                one = cost[ids[block[0]]]
                hosts[block] = heapq.nsmallest(hosts_per_group, ((c, f) for f, c in one.items()))
            else:
                want = sum(1 << i for i in block)
                hosts[block] = heapq.nsmallest(hosts_per_group, (
                    (sum(d[i] for i in block), f) for mask, group in by_mask.items()
                    if mask & want == want for f, d in group))
        return hosts[block]

    legs: dict[tuple[str, str], float] = {}

    def truck(f: str, g: str) -> float:
        if f == g:
            return 0.0
        if (f, g) not in legs:
            legs[(f, g)] = leg_cost(f, g)
        return legs[(f, g)]

    # Each layout arises once: from the partition its equal factories induce, with distinct
    # hosts per block (combinations reusing a factory are a coarser partition's layouts).
    kept = _Kept(top)
    index = {sid: i for i, sid in enumerate(ids)}
    for parts in _partitions(n, max(1, max_factories)):
        blocks = [tuple(b) for b in parts]
        options = [hosts_of(b) for b in blocks]
        if any(not o for o in options) or sum(o[0][0] for o in options) >= kept.worst:
            continue
        block_of = {i: k for k, b in enumerate(blocks) for i in b}
        cross = [(block_of[index[p]], block_of[index[s]]) for p, s in edges
                 if block_of[index[p]] != block_of[index[s]]]
        # Trucks between blocks priced as soon as both ends have a host (the later block).
        legs_at: list[list[tuple[int, int]]] = [[] for _ in blocks]
        for x, y in cross:
            legs_at[max(x, y)].append((x, y))
        for hosts_by_block in _host_choices(options, legs_at, truck, kept):
            kept.add(hosts_by_block[-1][1],
                     {sid: hosts_by_block[block_of[i]][0] for i, sid in enumerate(ids)})
    return kept.ranked()


class _Kept:
    """The ``top`` cheapest layouts seen so far (a max-heap by cost; ties: first seen first)."""

    def __init__(self, top: int) -> None:
        self.top = top
        self.heap: list[tuple[float, int, FactoryLayout]] = []
        self.tick = itertools.count()
        self.worst = float("inf")  # what a new layout must beat once ``top`` are kept

    def add(self, total: float, where: FactoryLayout) -> None:
        if len(self.heap) < self.top:
            heapq.heappush(self.heap, (-total, next(self.tick), where))
        else:
            heapq.heapreplace(self.heap, (-total, next(self.tick), where))
        if len(self.heap) >= self.top:
            self.worst = -self.heap[0][0]

    def ranked(self) -> list[tuple[float, FactoryLayout]]:
        return [(-t, a) for t, _, a in sorted(self.heap, key=lambda x: (-x[0], x[1]))]


def _host_choices(options: Sequence[Sequence[tuple[float, str]]],
                  legs_at: Sequence[Sequence[tuple[int, int]]],
                  truck: Callable[[str, str], float], kept: _Kept
                  ) -> Iterator[list[tuple[str, float]]]:
    """Distinct hosts for the blocks, as (factory, cost so far) per block, in the order
    ``itertools.product`` would give them, but only those that can still beat ``kept.worst``.

    A branch is cut once its cost so far plus the remaining blocks' cheapest work reaches the
    worst layout kept: hosts are sorted by cost and trucks only add, so every later host of
    that block is cut too. Branch and bound instead of the whole product: with 12 hosts a
    block, five one-step blocks alone are 248,832 combinations.
    """
    rest = [0.0] * (len(options) + 1)  # the least work blocks k, k+1, ... can still add
    for k in range(len(options) - 1, -1, -1):
        rest[k] = rest[k + 1] + options[k][0][0]
    chosen: list[tuple[str, float]] = []

    def place(k: int, partial: float) -> Iterator[list[tuple[str, float]]]:
        if k == len(options):
            yield chosen
            return
        for c, f in options[k]:
            if partial + c + rest[k + 1] >= kept.worst:
                break
            if any(f == g for g, _ in chosen):
                continue  # a factory hosting two blocks is a coarser partition's layout
            chosen.append((f, 0.0))
            total = partial + c + sum(truck(chosen[x][0], chosen[y][0]) for x, y in legs_at[k])
            chosen[-1] = (f, total)
            if total + rest[k + 1] < kept.worst:
                yield from place(k + 1, total)
            chosen.pop()

    yield from place(0, 0.0)


def problem_assignments(problem: Problem, order: OrderFacts) -> list[tuple[float, FactoryLayout]]:
    """``best_assignments`` priced with the problem's options (fen, one lot per step): the
    cheapest layouts over ``QUOTE_HOSTS_PER_GROUP`` hosts a group, then those over
    ``HOSTS_PER_GROUP`` that the first list does not hold."""
    cost: dict[str, dict[str, float]] = {}
    for s in order.steps:
        per: dict[str, float] = {}
        for o in s.options:
            fen = o.cost_fen(order.quantity)
            if fen < per.get(o.factory, float("inf")):
                per[o.factory] = fen
        cost[s.id] = per
    steps = [(s.id, s.after) for s in order.steps]

    def leg(f: str, g: str) -> float:
        return problem.leg(f, g).cost_fen

    wide = best_assignments(steps, cost, leg, order.max_factories,
                            hosts_per_group=QUOTE_HOSTS_PER_GROUP)
    # The rough price knows no windows: on a large market the wide search's cheapest layouts
    # can all be far-flung hosts that finish late, crowding out the near ones the narrow cut
    # keeps, so both are kept (bench quote, 100,000 resources, O6: 1,954.71 CNY score with
    # the wide search alone against 1,296.87 with 4 hosts).
    seen = {tuple(sorted(where.items())) for _, where in wide}
    narrow = [(price, where) for price, where in best_assignments(
        steps, cost, leg, order.max_factories, hosts_per_group=HOSTS_PER_GROUP)
        if tuple(sorted(where.items())) not in seen]
    return wide + narrow


def _inside(problem: Problem, order: OrderFacts, where: FactoryLayout,
            score: Callable[[Solution], int] | None = None) -> Solution:
    """Greedy (cheapest lot first) with every step held to its assigned factory; with
    ``score``, when that plan is late, also the variant that splits steps into idle time, and
    the better of the two (on time, splitting only adds setups)."""
    held = dataclasses.replace(order, steps=tuple(
        dataclasses.replace(s, options=tuple(o for o in s.options if o.factory == where[s.id]))
        for s in order.steps))
    inside = dataclasses.replace(problem, orders=(held,), refused={})
    whole = greedy(inside, cheapest_first=True)
    if score is None or (whole.lots and max(x.end_min for x in whole.lots) <= order.due_min):
        return whole
    split = greedy(inside, cheapest_first=True, split_early=True)
    if not split.lots:
        return whole
    return split if not whole.lots or score(split) < score(whole) else whole


def _cheapest_factories(step: StepFacts, quantity: int, n: int) -> list[str]:
    """The ``n`` factories with the cheapest single lot of the whole ``quantity``."""
    per: dict[str, int] = {}
    for o in step.options:
        fen = o.cost_fen(quantity)
        if fen < per.get(o.factory, 2**62):
            per[o.factory] = fen
    return [f for f, _ in heapq.nsmallest(n, per.items(), key=lambda fc: (fc[1], fc[0]))]


def factory_set_hints(problem: Problem, order: OrderFacts,
                      score: Callable[[Solution], int] | None = None,
                      evaluations: int = SEARCH_EVALUATIONS) -> list[Solution]:
    """Greedy plans, each inside one factory assignment: the best priced assignments, then
    (with ``score``) a hill climb from the best of them that moves one step at a time.

    The price estimate knows no windows, so its favourites often finish late; the climb
    judges each neighbour by its greedy plan's ``score`` (money and tardiness) instead. At
    most ``evaluations`` greedy runs in the climb, so a run repeats exactly.
    """
    seen: dict[tuple[str, ...], tuple[int, Solution | None]] = {}

    def judge(where: FactoryLayout) -> int:
        key = tuple(where[s.id] for s in order.steps)
        if key not in seen:
            sol = _inside(problem, order, where, score)
            ok = bool(sol.lots)
            seen[key] = ((score(sol) if score and ok else 0) if ok else 2**62,
                         sol if ok else None)
        return seen[key][0]

    starts = [where for _, where in problem_assignments(problem, order)]
    for where in starts:
        judge(where)
    if score is not None and starts:
        hosts = {s.id: _cheapest_factories(s, order.quantity, SEARCH_HOSTS)
                 for s in order.steps}
        ranked = sorted(starts, key=judge)[:SEARCH_STARTS]
        budget = len(seen) + evaluations
        for where in ranked:
            current, value = dict(where), judge(where)
            improved = True
            while improved and len(seen) < budget:
                improved = False
                for s in order.steps:
                    used = set(current.values())
                    for f in sorted(used | set(hosts[s.id])):
                        if f == current[s.id] or len(seen) >= budget:
                            continue
                        trial = {**current, s.id: f}
                        if len(set(trial.values())) > order.max_factories:
                            continue
                        if not any(o.factory == f for o in order.step(s.id).options):
                            continue
                        v = judge(trial)
                        if v < value:
                            current, value, improved = trial, v, True
    return [sol for _, sol in sorted(seen.values(), key=lambda vs: vs[0])
            if sol is not None][:KEEP_HINTS]
