"""Tabu walk over the general lot model's plan: resource assignment and sequence per resource.

The idea that won the FJSP benchmark (``matching.fjsp.tabu``: moves on the critical chain,
a tabu list on the resources an operation just left), on the plans every caller gets. A plan
is read as a list of lots (the incumbent's quantities are kept), a candidate resource per lot
and an order of the lots on each resource. ``_Decoder.decode`` turns that into start times:
every lot as early as its predecessors' arrival (end plus the truck's driving minutes between
two factories), its resource's previous lot (a machine) or the profile of lots already there
(a service line, up to its capacity, existing bookings included) and its resource's free
windows allow. The walk is priced by the real objective in the model's units (lot prices,
trucks, tardiness, makespan, late orders, as ``cpsat_model.add_objective``), and a move that
breaks ``max_factories`` or fits no window is never taken, so every plan it returns is one the
model allows: the independent checker accepts it like a CP-SAT plan.

Moves come from the critical chain of the worst order (the lots whose start is held by their
predecessor or by the previous lot on the resource, walked back from the order's last lot):
swap a chain lot with the lot before it on its resource, or move it to another candidate
resource at the place its current start gives. A few random resource moves keep the price
side in play when the objective is mostly cost. Pure search, no I/O: a ``Problem`` and a
``Solution`` in, a ``Solution`` out, never worse than the incumbent by its own pricing.
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from dataclasses import dataclass, field

from matching.problem import UNITS_PER_CNY, Option, Problem
from matching.solution import Lot, Solution


@dataclass(slots=True)
class WalkStats:
    """What the walk did: iterations, plans priced, improvements of the best plan."""

    iterations: int = 0
    decoded: int = 0
    improvements: int = 0


@dataclass(frozen=True, slots=True)
class _Op:
    """One lot of the incumbent: its order and step, its size, where it may run."""

    order: int  # index into problem.orders
    step: str
    quantity: int
    options: dict[str, Option]
    preds: tuple[int, ...]


@dataclass(slots=True)
class _Decoded:
    start: list[int]
    end: list[int]
    cost: int  # objective units
    held_by: list[int]  # the op whose end fixed this op's start (-1: its window or time 0)
    done: list[int]  # per order: last end


@dataclass(slots=True)
class _State:
    res: list[str]
    seq: dict[str, list[int]] = field(default_factory=dict)

    def copy(self) -> _State:
        """A copy whose sequences are shared until ``own`` replaces one (moves touch two)."""
        return _State(list(self.res), dict(self.seq))

    def own(self, rid: str) -> list[int]:
        """The sequence of ``rid`` as a list of this state's own, safe to change."""
        mine = self.seq[rid] = list(self.seq.get(rid, []))
        return mine


class _Decoder:
    def __init__(self, problem: Problem, ops: list[_Op]) -> None:
        self.p = problem
        self.ops = ops
        self.succs: list[list[int]] = [[] for _ in ops]
        for i, op in enumerate(ops):
            for j in op.preds:
                self.succs[j].append(i)
        self.by_order: dict[int, list[int]] = {}
        for i, op in enumerate(ops):
            self.by_order.setdefault(op.order, []).append(i)
        # The hot loop reads plain dicts: minutes per (op, resource), factory per resource,
        # driving minutes per factory pair; orders whose candidates cannot break max_factories
        # are not counted.
        self.dur = [{r: o.duration_min(op.quantity) for r, o in op.options.items()} for op in ops]
        self.price = [{r: o.cost_fen(op.quantity) for r, o in op.options.items()} for op in ops]
        self.factory = {r: f.factory for r, f in problem.resources.items()}
        self.one_site = len(set(self.factory.values())) <= 1
        self.travel: dict[tuple[str, str], int] = {}
        self.capped = [oi for oi, members in self.by_order.items()
                       if len({self.factory[r] for i in members for r in ops[i].options})
                       > problem.orders[oi].max_factories]

    def minutes(self, f: str, g: str) -> int:
        if f == g:
            return 0
        t = self.travel.get((f, g))
        if t is None:
            t = self.travel[(f, g)] = self.p.leg(f, g).minutes
        return t

    def decode(self, st: _State) -> _Decoded | None:
        """Earliest start times for ``st``; None if its sequences contradict the precedences,
        a lot fits no window, or an order uses more factories than it allows."""
        ops, p, n = self.ops, self.p, len(self.ops)
        fac, res, dur, one_site = self.factory, st.res, self.dur, self.one_site
        for oi in self.capped:
            if len({fac[res[i]] for i in self.by_order[oi]}) > p.orders[oi].max_factories:
                return None
        prev_on = [-1] * n
        indeg = [len(op.preds) for op in ops]
        for seq in st.seq.values():
            for a, b in itertools.pairwise(seq):
                prev_on[b] = a
                indeg[b] += 1
        next_on = [-1] * n
        for b, a in enumerate(prev_on):
            if a >= 0:
                next_on[a] = b
        ready = [i for i in range(n) if indeg[i] == 0]
        start, end, held = [0] * n, [0] * n, [-1] * n
        placed: dict[str, list[tuple[int, int]]] = {}
        count = 0
        while ready:
            i = ready.pop()
            count += 1
            rid = res[i]
            facts = p.resources[rid]
            est, by = 0, -1
            if one_site:
                for j in ops[i].preds:
                    if end[j] > est:
                        est, by = end[j], j
            else:
                g = fac[rid]
                for j in ops[i].preds:
                    t = end[j] + self.minutes(fac[res[j]], g)
                    if t > est:
                        est, by = t, j
            d = dur[i][rid]
            if facts.capacity <= 1:
                a = prev_on[i]
                if a >= 0 and end[a] >= est:
                    est, by = end[a], a
                s = _fit(facts.free, est, d)
            else:
                s = _fit_line(facts.free, facts.load, placed.get(rid, []), facts.capacity, est, d)
            if s is None:
                return None
            if s > est:
                by = -1
            start[i], end[i], held[i] = s, s + d, by
            if facts.capacity > 1:
                placed.setdefault(rid, []).append((s, s + d))
            for k in self.succs[i]:
                indeg[k] -= 1
                if indeg[k] == 0:
                    ready.append(k)
            k = next_on[i]
            if k >= 0:
                indeg[k] -= 1
                if indeg[k] == 0:
                    ready.append(k)
        if count < n:
            return None  # a cycle: a sequence runs against the order's steps
        return self._price(st, start, end, held)

    def _price(self, st: _State, start: list[int], end: list[int],
               held: list[int]) -> _Decoded:
        p, w, ops = self.p, self.p.weights, self.ops
        units = 0
        if w.cost:
            units += w.cost * sum(self.price[i][r] for i, r in enumerate(st.res))
        done = [0] * len(p.orders)
        for oi, members in self.by_order.items():
            done[oi] = max(end[i] for i in members)
        if w.cost:
            legs: set[tuple[int, str, str, str, str]] = set()
            for i, op in enumerate(ops):
                g = p.resources[st.res[i]].factory
                for j in op.preds:
                    f = p.resources[st.res[j]].factory
                    if f != g:
                        legs.add((op.order, ops[j].step, op.step, f, g))
            units += w.cost * sum(p.leg(f, g).cost_fen for _, _, _, f, g in legs)
        for oi in self.by_order:
            order = p.orders[oi]
            late = max(0, done[oi] - order.due_min)
            units += w.tardiness * late
            if w.late_order and late and order.due_min < p.horizon:
                units += w.late_order
        units += w.makespan * max(done, default=0)
        return _Decoded(start, end, units, held, done)


def _fit(free: tuple[tuple[int, int], ...], est: int, d: int) -> int | None:
    """Earliest start >= est of a ``d``-minute lot inside one free interval."""
    if len(free) == 1:
        lo, hi = free[0]
        s = lo if lo > est else est
        return s if s + d <= hi else None
    k = max(0, bisect.bisect_right(free, (est, 1 << 62)) - 1)
    for lo, hi in free[k:]:
        s = max(lo, est)
        if s + d <= hi:
            return s
    return None


def _fit_line(free: tuple[tuple[int, int], ...], load: tuple[tuple[int, int, int], ...],
              placed: list[tuple[int, int]], capacity: int, est: int, d: int) -> int | None:
    """Earliest start >= est on a service line: inside its span, at most ``capacity`` lots and
    booked slots at any time (the gaps between windows take every slot)."""
    if not free:
        return None
    lo, hi = free[0][0], free[-1][1]
    blocks = [(s, e, c) for s, e, c in load] + [(s, e, 1) for s, e in placed]
    candidates = sorted({max(est, lo), *(e for _, e, _ in blocks if e > est)})
    for s in candidates:
        if s + d > hi:
            return None
        points = [s] + [b for b, _, _ in blocks if s < b < s + d]
        if all(sum(c for b, e, c in blocks if b <= t < e) < capacity for t in points):
            return s
    return None


def _ops_of(problem: Problem, incumbent: Solution) -> tuple[list[_Op], _State, list[int]] | None:
    index = {o.id: k for k, o in enumerate(problem.orders)}
    ids: dict[tuple[str, str], list[int]] = {}
    lots = sorted(incumbent.lots, key=lambda x: (index.get(x.order, -1), x.start_min))
    ops: list[_Op] = []
    res: list[str] = []
    starts: list[int] = []
    pending: list[tuple[int, str]] = []
    for x in lots:
        if x.order not in index:
            return None
        order = problem.orders[index[x.order]]
        step = order.step(x.step)
        options = {o.resource: o for o in step.options}
        if x.resource not in options:
            return None
        ids.setdefault((x.order, x.step), []).append(len(ops))
        ops.append(_Op(index[x.order], x.step, x.quantity, options, ()))
        res.append(x.resource)
        starts.append(x.start_min)
        pending.append((index[x.order], x.step))
    out = []
    for op, (oi, sid) in zip(ops, pending, strict=True):
        order = problem.orders[oi]
        preds = tuple(j for a in order.step(sid).after for j in ids.get((order.id, a), []))
        out.append(_Op(op.order, op.step, op.quantity, op.options, preds))
    st = _State(res)
    for i in sorted(range(len(out)), key=lambda i: starts[i]):
        st.seq.setdefault(res[i], []).append(i)
    return out, st, starts


def walk(problem: Problem, incumbent: Solution, time_limit_s: float, *, seed: int = 0,
         stats: WalkStats | None = None) -> Solution:
    """Tabu walk from ``incumbent`` for ``time_limit_s``; returns the best plan seen (the
    incumbent itself when nothing better turned up or it cannot be read as a sequence)."""
    deadline = time.perf_counter() + time_limit_s
    stats = stats if stats is not None else WalkStats()
    read = _ops_of(problem, incumbent)
    if read is None or not read[0]:
        return incumbent
    ops, st, _ = read
    dec = _Decoder(problem, ops)
    cur = dec.decode(st)
    stats.decoded += 1
    if cur is None:
        return incumbent
    rng = random.Random(seed)
    best_st, best = st.copy(), cur
    tabu: dict[tuple[int, str], int] = {}
    stall = 0
    while time.perf_counter() < deadline:
        stats.iterations += 1
        moves = _moves(problem, dec, st, cur, rng)
        chosen: tuple[_State, _Decoded, tuple[int, str] | None] | None = None
        for cand, left in moves:
            got = dec.decode(cand)
            stats.decoded += 1
            if got is None:
                continue
            if left is not None and tabu.get(left, -1) >= stats.iterations \
                    and got.cost >= best.cost:
                continue  # tabu, and no new best (aspiration)
            if chosen is None or got.cost < chosen[1].cost:
                chosen = (cand, got, left)
        if chosen is None:
            tabu.clear()
            continue
        st, cur, left = chosen
        if left is not None:
            tabu[left] = stats.iterations + 5 + rng.randrange(10)
        if cur.cost < best.cost:
            best_st, best, stall = st.copy(), cur, 0
            stats.improvements += 1
        else:
            stall += 1
        if stall > 200:  # a long plateau: go back to the best plan
            st, cur, stall = best_st.copy(), best, 0
            tabu.clear()
    if stats.improvements == 0:
        return incumbent
    lots = tuple(Lot(problem.orders[op.order].id, op.step, best_st.res[i], op.quantity,
                     best.start[i], best.end[i]) for i, op in enumerate(ops))
    return Solution(lots, dict(incumbent.unplaced), incumbent.status,
                    best.cost / UNITS_PER_CNY, incumbent.bound_cny, incumbent.wall_s)


def _chain(dec: _Decoder, cur: _Decoded, rng: random.Random) -> list[int]:
    """The critical chain of the order the objective is worst on (largest completion, ties at
    random), walked back through the ops that held each start."""
    p = dec.p
    w = p.weights
    def weight(oi: int) -> float:
        late = max(0, cur.done[oi] - p.orders[oi].due_min)
        return w.makespan * cur.done[oi] + w.tardiness * late + rng.random()
    order = max(dec.by_order, key=weight)
    i = max(dec.by_order[order], key=lambda k: cur.end[k])
    chain: list[int] = []
    while i >= 0 and len(chain) < 10_000:
        chain.append(i)
        i = cur.held_by[i]
    return chain


def _moves(problem: Problem, dec: _Decoder, st: _State, cur: _Decoded,
           rng: random.Random) -> list[tuple[_State, tuple[int, str] | None]]:
    """Candidate states: chain swaps and chain moves, plus a few random resource moves."""
    out: list[tuple[_State, tuple[int, str] | None]] = []
    chain = _chain(dec, cur, rng) if problem.weights.makespan or problem.weights.tardiness else []
    ops = dec.ops
    for i in chain:
        rid = st.res[i]
        seq = st.seq[rid]
        pos = seq.index(i)
        if pos > 0 and problem.resources[rid].capacity <= 1:  # swap with the lot before it
            nxt = st.copy()
            s = nxt.own(rid)
            s[pos - 1], s[pos] = s[pos], s[pos - 1]
            out.append((nxt, (seq[pos - 1], rid)))
        for other in ops[i].options:
            if other != rid:
                out.append((_moved(st, cur, i, other), (i, rid)))
    if len(out) > 40:
        out = rng.sample(out, 40)
    for _ in range(3):
        i = rng.randrange(len(ops))
        others = [r for r in ops[i].options if r != st.res[i]]
        if others:
            out.append((_moved(st, cur, i, rng.choice(others)), (i, st.res[i])))
    return out


def _moved(st: _State, cur: _Decoded, i: int, to: str) -> _State:
    """``st`` with op ``i`` on resource ``to``, placed among its lots by its current start."""
    nxt = st.copy()
    nxt.own(nxt.res[i]).remove(i)
    target = nxt.own(to)
    starts = [cur.start[k] for k in target]
    target.insert(bisect.bisect_left(starts, cur.start[i]), i)
    nxt.res[i] = to
    return nxt
