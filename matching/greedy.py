"""Greedy baseline: earliest finish first, cheapest on ties; the yardstick for CP-SAT.

List scheduling over all orders at once: among the steps whose predecessors are placed, commit
the one whose best placement finishes earliest. A step goes in one lot where it fits whole;
otherwise it is cut into the largest lots that still fit (at most ``max_lots_per_step``). The
same routine gives CP-SAT its starting hint.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from matching.problem import Option, OrderFacts, Problem, StepFacts
from matching.solution import Lot, Solution
from scheduling.intervals import FitFinder, FreeTimes, Interval


@dataclass(frozen=True, slots=True)
class _Try:
    option: Option
    quantity: int
    start: int
    end: int
    cost_fen: int


class _Ledger:
    """What is placed on each resource so far (existing bookings on service lines included)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.busy: dict[str, list[Interval]] = defaultdict(list)
        for rid, facts in problem.resources.items():
            if facts.capacity > 1:
                for s, e, demand in facts.load:
                    self.busy[rid].extend([(s, e)] * demand)
        # Per-run memos (the problem is immutable during one greedy run): the factories each
        # step can use, and ``_room_for`` answers, which the option loops ask again and again.
        self.step_factories: dict[tuple[str, str], frozenset[str]] = {}
        self.room: dict[tuple[str, str, frozenset[str], frozenset[str]], bool] = {}
        self.finders: dict[str, FitFinder] = {}
        self.free: dict[str, FreeTimes] = {}
        self.version: dict[str, int] = {}
        self.step_resources: dict[tuple[str, str], tuple[str, ...]] = {}
        self.tails: dict[tuple[str, str], int] = {}  # (order, step) -> tail_min

    def factories_of(self, order: OrderFacts, step: StepFacts) -> frozenset[str]:
        key = (order.id, step.id)
        got = self.step_factories.get(key)
        if got is None:
            got = self.step_factories[key] = frozenset(o.factory for o in step.options)
        return got

    def finder(self, opt: Option, extra: list[Interval]) -> FitFinder:
        """Earliest-fit probes on ``opt``'s resource as it is now, plus ``extra`` lots.

        Without ``extra`` the finder is kept until the resource's busy list changes
        (``book``/``unbook``); the free-interval index is kept for the whole run.
        """
        rid = opt.resource
        if not extra:
            got = self.finders.get(rid)
            if got is not None:
                return got
        facts = self.problem.resources[rid]
        free = self.free.get(rid)
        if free is None:
            free = self.free[rid] = FreeTimes(facts.free)
        made = FitFinder(free, self.busy[rid] + extra, facts.capacity)
        if not extra:
            self.finders[rid] = made
        return made

    def book(self, resource: str, interval: Interval) -> None:
        self.busy[resource].append(interval)
        self._changed(resource)

    def unbook(self, resource: str, interval: Interval) -> None:
        self.busy[resource].remove(interval)
        self._changed(resource)

    def _changed(self, resource: str) -> None:
        self.finders.pop(resource, None)
        self.version[resource] = self.version.get(resource, 0) + 1

    def stamp(self, order: OrderFacts, step: StepFacts) -> tuple[int, ...]:
        """How far the busy lists of ``step``'s resources have changed: a step placed earlier
        with the same stamp (and the same order state) would be placed the same way again."""
        key = (order.id, step.id)
        rids = self.step_resources.get(key)
        if rids is None:
            rids = self.step_resources[key] = tuple(dict.fromkeys(
                o.resource for o in step.options))
        version = self.version
        return tuple([version.get(r, 0) for r in rids])

    def earliest(self, opt: Option, quantity: int, ready: int,
                 extra: list[Interval]) -> int | None:
        return self.finder(opt, extra).earliest(opt.duration_min(quantity), ready)


def _ready_at(problem: Problem, order: OrderFacts, step: StepFacts, placed: dict[str, list[Lot]],
              factory: str) -> int:
    """When every predecessor lot has arrived at ``factory`` (end plus transport if moved)."""
    t = 0
    for p in step.after:
        for lot in placed[p]:
            src = problem.resources[lot.resource].factory
            t = max(t, lot.end_min + problem.leg(src, factory).minutes)
    return t


def place_step(problem: Problem, ledger: _Ledger, order: OrderFacts, step: StepFacts,
               placed: dict[str, list[Lot]], factories: set[str],
               cheapest_first: bool = False, split_early: bool = False) -> list[_Try] | str:
    """Lots for ``step`` (not yet committed), or why none could be found.

    ``split_early``: when the chosen whole lot has to wait (say for tomorrow's shift), first
    fill the idle time before it with the largest part that ends before the whole lot would
    start, and place the rest after; a big step then spans windows instead of waiting.
    """
    remaining, floor = order.quantity, order.lot_floor()
    limit = problem.max_lots(order)
    chosen: list[_Try] = []
    used = set(factories)
    # ``placed`` does not change while one step is placed: arrival times are per factory.
    ready_at: dict[str, int] = {}
    while remaining > 0:
        if len(chosen) >= limit:
            return (f"step {step.id} '{step.process}': {remaining} of {order.quantity} pieces "
                    f"left over after {limit} lots (max lots per step) in the free windows")
        best_full: tuple[tuple[int, int], _Try] | None = None
        best_part: tuple[tuple[int, int], _Try] | None = None
        room: dict[str, bool] = {}
        for opt, ready, extra in _usable(problem, ledger, order, step, placed, used, chosen,
                                         room, ready_at):
            start = ledger.earliest(opt, remaining, ready, extra)
            if start is not None:
                tr = _Try(opt, remaining, start, start + opt.duration_min(remaining),
                          opt.cost_fen(remaining))
                key = ((_priced(problem, ledger, order, step, placed, tr), tr.end)
                       if cheapest_first
                       else (tr.end, tr.cost_fen))
                if best_full is None or key < best_full[0]:
                    best_full = (key, tr)
                continue
            part = _largest_part(ledger, opt, remaining - floor, floor, ready, extra)
            if part is not None:
                key = (-part.quantity, part.end)
                if best_part is None or key < best_part[0]:
                    best_part = (key, part)
        pick = best_full[1] if best_full else best_part[1] if best_part else None
        if split_early and best_full and len(chosen) + 1 < limit:
            early = _early_part(problem, ledger, order, step, placed, used, chosen, remaining,
                                best_full[1].start, room, ready_at)
            pick = early or pick
        if pick is None:
            return (f"step {step.id} '{step.process}': no free window on its "
                    f"{len(step.options)} capable resources can take a lot of {floor}+ of the "
                    f"remaining {remaining} pieces after the previous steps arrive "
                    f"(max_factories {order.max_factories})")
        chosen.append(pick)
        used.add(pick.option.factory)
        remaining -= pick.quantity
    return chosen


def _usable(problem: Problem, ledger: _Ledger, order: OrderFacts, step: StepFacts,
            placed: dict[str, list[Lot]], used: set[str], chosen: list[_Try],
            room: dict[str, bool], ready_at: dict[str, int],
            ) -> Iterator[tuple[Option, int, list[Interval]]]:
    """The step's options whose factory keeps ``max_factories`` coverable, each with when the
    previous steps' lots arrive there and the lots of this step already on its resource.
    ``room`` and ``ready_at`` are per-factory memos valid for one ``used`` / ``placed``."""
    for opt in step.options:
        if opt.factory not in used and not _room_cached(ledger, room, order, step, placed,
                                                        used, opt.factory):
            continue
        ready = ready_at.get(opt.factory)
        if ready is None:
            ready = ready_at[opt.factory] = _ready_at(problem, order, step, placed, opt.factory)
        yield opt, ready, [(c.start, c.end) for c in chosen if c.option.resource == opt.resource]


def _priced(problem: Problem, ledger: _Ledger, order: OrderFacts, step: StepFacts,
            placed: dict[str, list[Lot]], tr: _Try) -> int:
    """Objective units of a lot: its price, the trucks it needs from the previous steps, and
    the tardiness it already causes: the order cannot end before the lot plus the least time
    the steps after it still need (without that tail, a cheap lot ending just before the due
    date looked free of tardiness although the order it belongs to could no longer be on
    time)."""
    w = problem.weights
    sources = {problem.resources[x.resource].factory for p in step.after for x in placed[p]}
    trucks = sum(problem.leg(f, tr.option.factory).cost_fen for f in sources)
    tail = ledger.tails.get((order.id, step.id))
    if tail is None:
        tail = ledger.tails[order.id, step.id] = tail_min(problem, order, step.id)
    late = max(0, tr.end + tail - order.due_min)
    return w.cost * (tr.cost_fen + trucks) + w.tardiness * late + (w.late_order if late else 0)


def tail_min(problem: Problem, order: OrderFacts, step_id: str) -> int:
    """A lower bound on the minutes from the end of ``step_id`` to the order's completion: the
    longest chain of the following steps, each on its fastest option with the order cut into
    as many lots as allowed (transport and waiting left out, so it never overstates)."""
    lots = problem.max_lots(order)
    part = -(-order.quantity // lots)
    tails: dict[str, int] = {}
    for step in reversed(order.steps):  # steps are in topological order
        nexts = [tails[s.id] + min((o.duration_min(part) for o in s.options), default=0)
                 for s in order.steps if step.id in s.after]
        tails[step.id] = max(nexts, default=0)
        if step.id == step_id:
            return tails[step_id]
    return 0


def _room_cached(ledger: _Ledger, room: dict[str, bool], order: OrderFacts, step: StepFacts,
                 placed: dict[str, list[Lot]], used: set[str], factory: str) -> bool:
    """``_room_for(used | {factory})``, memoised per factory in ``room`` (valid for one
    ``used``) and across the run in the ledger (keyed by everything the answer depends on)."""
    got = room.get(factory)
    if got is None:
        with_f = frozenset(used) | {factory}
        key = (order.id, step.id, frozenset(placed), with_f)
        got = ledger.room.get(key)
        if got is None:
            got = ledger.room[key] = _room_for(ledger, order, step, placed, with_f)
        room[factory] = got
    return got


def _room_for(ledger: _Ledger, order: OrderFacts, step: StepFacts,
              placed: dict[str, list[Lot]], used: frozenset[str]) -> bool:
    """Can the steps still to place be covered within max_factories if ``used`` are used?

    A greedy set cover over the factories of the remaining steps' options (it may overcount,
    which only makes the baseline more careful). Ties go to the first factory by name.
    """
    if len(used) > order.max_factories:
        return False
    todo = [fs for s in order.steps if s.id not in placed and s.id != step.id
            and (fs := ledger.factories_of(order, s)).isdisjoint(used)]
    slots = order.max_factories - len(used)
    while todo:
        if slots == 0:
            return False
        counts: dict[str, int] = {}
        for fs in todo:
            for f in fs:
                counts[f] = counts.get(f, 0) + 1
        best = min(counts, key=lambda f: (-counts[f], f))
        todo = [fs for fs in todo if best not in fs]
        slots -= 1
    return True


def _early_part(problem: Problem, ledger: _Ledger, order: OrderFacts, step: StepFacts,
                placed: dict[str, list[Lot]], used: set[str], chosen: list[_Try],
                remaining: int, before: int, room: dict[str, bool],
                ready_at: dict[str, int]) -> _Try | None:
    """The largest part of ``remaining`` (leaving at least a lot floor) ending by ``before``,
    on a factory the step may use; None if no part that big fits in the idle time.

    ``room`` and ``ready_at`` are the caller's per-factory memos for the same ``used``/``placed``.
    """
    floor, best = order.lot_floor(), None
    for opt, ready, extra in _usable(problem, ledger, order, step, placed, used, chosen, room,
                                     ready_at):
        part = _largest_part(ledger, opt, remaining - floor, floor, ready, extra, before)
        if part is not None and (best is None or (-part.quantity, part.end)
                                 < (-best.quantity, best.end)):
            best = part
    return best


def _largest_part(ledger: _Ledger, opt: Option, most: int, floor: int, ready: int,
                  extra: list[Interval], end_by: int | None = None) -> _Try | None:
    """The biggest lot in [floor, most] that fits somewhere, ending by ``end_by`` if given
    (binary search: fitting, and the earliest end, are monotone in the lot size)."""
    finder = ledger.finder(opt, extra)

    def fits(q: int) -> bool:
        start = finder.earliest(opt.duration_min(q), ready)
        return start is not None and (end_by is None or start + opt.duration_min(q) <= end_by)

    if most < floor or not fits(floor):
        return None
    lo, hi = floor, most
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    start = finder.earliest(opt.duration_min(lo), ready)
    assert start is not None
    return _Try(opt, lo, start, start + opt.duration_min(lo), opt.cost_fen(lo))


def greedy(problem: Problem, *, cheapest_first: bool = False,
           split_early: bool = False) -> Solution:
    """Earliest-finish list schedule of every order of ``problem``; failures become reasons.

    ``cheapest_first`` swaps the per-step preference (cheapest lot, then earliest finish); the
    cheapest quote starts from that variant. ``split_early``: see ``place_step``.
    """
    t0 = time.perf_counter()
    ledger = _Ledger(problem)
    placed: dict[str, dict[str, list[Lot]]] = {o.id: {} for o in problem.orders}
    factories: dict[str, set[str]] = {o.id: set() for o in problem.orders}
    unplaced = dict(problem.refused)
    active = {o.id: o for o in problem.orders}
    # place_step is a pure function of the order's progress and its resources' busy lists:
    # a step's lots are only worked out again when one of those changed since the last try.
    progress: dict[str, int] = {o.id: 0 for o in problem.orders}
    tried: dict[tuple[str, str], tuple[tuple[int, ...], list[_Try]]] = {}
    while True:
        best: tuple[tuple[int, int, int], OrderFacts, StepFacts, list[_Try]] | None = None
        for rank, order in enumerate(problem.orders):
            if order.id not in active:
                continue
            done = placed[order.id]
            ready_steps = [s for s in order.steps
                           if s.id not in done and all(p in done for p in s.after)]
            for step in ready_steps:
                stamp = (progress[order.id], *ledger.stamp(order, step))
                hit = tried.get((order.id, step.id))
                if hit is not None and hit[0] == stamp:
                    result: list[_Try] | str = hit[1]
                else:
                    result = place_step(problem, ledger, order, step, done, factories[order.id],
                                        cheapest_first, split_early)
                    if not isinstance(result, str):
                        tried[order.id, step.id] = (stamp, result)
                if isinstance(result, str):
                    unplaced[order.id] = result
                    del active[order.id]
                    _release(ledger, placed[order.id])
                    break
                key = (max(t.end for t in result), sum(t.cost_fen for t in result), rank)
                if best is None or key < best[0]:
                    best = (key, order, step, result)
        if best is None:
            break
        _, order, step, result = best
        lots = [Lot(order.id, step.id, t.option.resource, t.quantity, t.start, t.end)
                for t in result]
        placed[order.id][step.id] = lots
        factories[order.id].update(t.option.factory for t in result)
        progress[order.id] += 1
        for lot in lots:
            ledger.book(lot.resource, (lot.start_min, lot.end_min))
        if len(placed[order.id]) == len(order.steps):
            del active[order.id]
    all_lots = tuple(lot for oid in placed if oid not in unplaced
                     for lots in placed[oid].values() for lot in lots)
    return Solution(all_lots, unplaced, "FEASIBLE", wall_s=time.perf_counter() - t0)


def _release(ledger: _Ledger, steps: dict[str, list[Lot]]) -> None:
    """Give back the time of a failed order's lots."""
    for lots in steps.values():
        for lot in lots:
            ledger.unbook(lot.resource, (lot.start_min, lot.end_min))
    steps.clear()
