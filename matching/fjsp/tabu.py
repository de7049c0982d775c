"""FJSP makespan by tabu search over the disjunctive graph, compiled with Numba.

Why a tabu search beside CP-SAT: on the two large Brandimarte instances (mk06, mk10) the CP-SAT
model and its LNS stall a few percent above the best known values within 30 s on two cores,
while the classical local-search route gets close in seconds: move one critical operation to
its best position on any machine it can use. The neighbourhood and its O(1) move estimate are
those of Mastrolilli & Gambardella (2000), "Effective neighbourhood functions for the flexible
job shop problem", J. Scheduling 3(1):3-20: take the operation ``v`` out of the graph, compute
heads and tails without it, and on each eligible machine only try the positions after every
operation that must precede ``v`` there and before every operation that must follow it (those
positions never close a cycle, and the best insertion is among them). A move is scored by the
makespan of the graph without ``v`` or the longest path through ``v`` after insertion,
whichever is larger, ties broken by the path through ``v``. Candidates are the operations of
one critical path (random among several). What is tabu is undoing a move: the machine arcs a
move broke (``v`` after its old predecessor, before its old successor, and the pair it sat
between) may not be re-created for 10-18 iterations unless that would beat the best makespan.
Without that memory the walk cycled on mk10 (moving ``v`` out, then its neighbour back over
it) and ended at 213-215 instead of 197-201.

Why Numba: one iteration evaluates a few thousand insertions and recomputes heads and tails
once per critical operation; in Python that is ~1,000x slower, in compiled code an iteration
of mk10 (240 operations) takes tens of microseconds, so 30 s buy a few hundred thousand. The
kernels release the GIL, so a CP-SAT search can run beside them on the other core.

Representation (all int64 arrays over flat operations ``v`` in job order): ``mach[v]``
0-based machine, ``mp``/``ms`` predecessor/successor on the machine (-1 at the ends),
``first[k]`` the first operation on machine ``k``; ``jp``/``js`` the job neighbours;
``proc[v, k]`` the processing time, or -1 where ``k`` cannot run ``v``.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from matching.fjsp.lns import Assignment, Op, assignment_of

Array = npt.NDArray[np.int64]

# Indices into the search state vector carried across calls of the compiled kernel.
_IT, _LAST_GAIN, _BEST, _CUR, _RESTARTS = 0, 1, 2, 3, 4


# The head and tail updates below are written out in each pass on purpose: as small @njit
# helpers they were not inlined and made every pass 5-6x slower (measured on mk10).


@njit(cache=True, nogil=True)  # type: ignore[misc]
def _heads_tails(p: Array, jp: Array, js: Array, mp: Array, ms: Array, r: Array, q: Array,
                 order: Array, indeg: Array, rank: Array) -> int:
    """Heads ``r`` (earliest starts) and tails ``q`` (longest path after the end) by one
    topological pass (``order``, and each operation's place in it, ``rank``); the makespan,
    or -1 if the graph has a cycle."""
    n = p.shape[0]
    tail = 0
    for v in range(n):
        d = 0
        if jp[v] >= 0:
            d += 1
        if mp[v] >= 0:
            d += 1
        indeg[v] = d
        if d == 0:
            order[tail] = v
            tail += 1
    head = 0
    while head < tail:
        v = order[head]
        head += 1
        rv = 0
        a = jp[v]
        if a >= 0:
            rv = r[a] + p[a]
        a = mp[v]
        if a >= 0 and r[a] + p[a] > rv:
            rv = r[a] + p[a]
        r[v] = rv
        s = js[v]
        if s >= 0:
            indeg[s] -= 1
            if indeg[s] == 0:
                order[tail] = s
                tail += 1
        s = ms[v]
        if s >= 0:
            indeg[s] -= 1
            if indeg[s] == 0:
                order[tail] = s
                tail += 1
    if tail < n:
        return -1
    cmax = 0
    for i in range(n - 1, -1, -1):
        v = order[i]
        rank[v] = i
        qv = 0
        s = js[v]
        if s >= 0:
            qv = p[s] + q[s]
        s = ms[v]
        if s >= 0 and p[s] + q[s] > qv:
            qv = p[s] + q[s]
        q[v] = qv
        if r[v] + p[v] + qv > cmax:
            cmax = r[v] + p[v] + qv
    return cmax


@njit(cache=True, nogil=True)  # type: ignore[misc]
def _without(p: Array, jp: Array, js: Array, mp: Array, ms: Array, r: Array, q: Array,
             rm: Array, qm: Array, order: Array, at: int) -> int:
    """Heads ``rm`` and tails ``qm`` once the operation at ``order[at]`` is out of its
    machine (its ``p`` zeroed, its machine neighbours linked): the current topological
    ``order`` stays valid, heads change only from ``at`` on and tails only up to it, so half
    of each pass is a copy. The makespan of that graph."""
    n = p.shape[0]
    rm[:] = r
    qm[:] = q
    for i in range(at, n):
        x = order[i]
        h = 0
        a = jp[x]
        if a >= 0:
            h = rm[a] + p[a]
        a = mp[x]
        if a >= 0 and rm[a] + p[a] > h:
            h = rm[a] + p[a]
        rm[x] = h
    for i in range(at, -1, -1):
        x = order[i]
        t = 0
        s = js[x]
        if s >= 0:
            t = p[s] + qm[s]
        s = ms[x]
        if s >= 0 and p[s] + qm[s] > t:
            t = p[s] + qm[s]
        qm[x] = t
    cm = 0
    for x in range(n):
        if rm[x] + p[x] + qm[x] > cm:
            cm = rm[x] + p[x] + qm[x]
    return cm


@njit(cache=True, nogil=True)  # type: ignore[misc]
def _unlink(v: int, mach: Array, mp: Array, ms: Array, first: Array) -> None:
    a = mp[v]
    b = ms[v]
    if a >= 0:
        ms[a] = b
    else:
        first[mach[v]] = b
    if b >= 0:
        mp[b] = a
    mp[v] = -1
    ms[v] = -1


@njit(cache=True, nogil=True)  # type: ignore[misc]
def _link(v: int, k: int, u: int, w: int, mach: Array, mp: Array, ms: Array,
          first: Array) -> None:
    mach[v] = k
    mp[v] = u
    ms[v] = w
    if u >= 0:
        ms[u] = v
    else:
        first[k] = v
    if w >= 0:
        mp[w] = v


@njit(cache=True, nogil=True)  # type: ignore[misc]
def _lift(v: int, mach: Array, mp: Array, ms: Array, first: Array, p: Array, jp: Array,
          js: Array, r: Array, q: Array, rm: Array, qm: Array, order: Array,
          rank: Array) -> tuple[int, int, int, int, int, int]:
    """Take ``v`` off its machine (``_link(v, mach[v], a, b)`` and ``p[v] = pv`` put it back),
    with the heads ``rm`` and tails ``qm`` of the graph without it. Returns its old machine
    neighbours ``a`` and ``b``, ``pv``, its head and tail from its job alone, and the
    makespan without it."""
    a = mp[v]
    b = ms[v]
    pv = p[v]
    _unlink(v, mach, mp, ms, first)
    p[v] = 0
    cm = _without(p, jp, js, mp, ms, r, q, rm, qm, order, rank[v])
    rv = 0
    if jp[v] >= 0:
        rv = rm[jp[v]] + p[jp[v]]
    qv = 0
    if js[v] >= 0:
        qv = p[js[v]] + qm[js[v]]
    return a, b, pv, rv, qv, cm


@njit(cache=True, nogil=True)  # type: ignore[misc]
def _window(v: int, k: int, p: Array, r: Array, q: Array, rv: int, qv: int, first: Array,
            ms: Array, seq: Array) -> tuple[int, int, int]:
    """Machine ``k``'s sequence (``v`` already out) into ``seq``; its length and the range
    ``lo..hi`` of insertion positions that keep the graph acyclic (see the module doc)."""
    n_seq = 0
    x = first[k]
    lo = 0
    hi = -1
    while x >= 0:
        seq[n_seq] = x
        big_head = r[x] + p[x] > rv
        big_tail = p[x] + q[x] > qv
        if big_tail and not big_head:
            lo = n_seq + 1
        if big_head and not big_tail and hi < 0:
            hi = n_seq
        n_seq += 1
        x = ms[x]
    if hi < 0:
        hi = n_seq
    return n_seq, lo, hi


@njit(cache=True, nogil=True)  # type: ignore[misc]
def _search(proc: Array, jp: Array, js: Array, mach: Array, mp: Array, ms: Array,
            first: Array, best_mach: Array, best_mp: Array, best_ms: Array, best_first: Array,
            tabu: Array, state: Array, iterations: int, lower: int, tenure_lo: int,
            tenure_span: int, stall: int, kick: int) -> None:
    """``iterations`` tabu-search steps from the current solution; ``state`` carries the
    iteration count, last gain, best and current makespan and restarts between calls so the
    caller can stop on wall time. On ``stall`` steps without a new best the search restarts
    from the best solution after ``kick`` random moves."""
    n, m = proc.shape
    p = np.empty(n, np.int64)
    for v in range(n):
        p[v] = proc[v, mach[v]]
    r = np.empty(n, np.int64)
    q = np.empty(n, np.int64)
    rm = np.empty(n, np.int64)
    qm = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    indeg = np.empty(n, np.int64)
    seq = np.empty(n + 1, np.int64)
    cand = np.empty(n, np.int64)
    rank = np.empty(n, np.int64)
    cmax = _heads_tails(p, jp, js, mp, ms, r, q, order, indeg, rank)
    state[_CUR] = cmax
    for _ in range(iterations):
        if state[_BEST] <= lower:
            return
        it = state[_IT]
        state[_IT] = it + 1
        best_est = 1 << 60
        best_count = 0
        mv = -1
        mk = -1
        mu = -1
        mw = -1
        tabu_est = 1 << 60
        tv = -1
        tk = -1
        tu = -1
        tw = -1
        # Candidates: one critical path, traced back from a random last operation through
        # tight arcs (random at forks). Three times the iterations per second of trying
        # every critical operation, and better makespans at 10 s on mk06 and mk10.
        ncand = 0
        seen = 0
        v = -1
        for x in range(n):
            if q[x] == 0 and r[x] + p[x] == cmax:
                seen += 1
                if np.random.randint(seen) == 0:
                    v = x
        while v >= 0:
            cand[ncand] = v
            ncand += 1
            a = jp[v]
            b = mp[v]
            via_job = a >= 0 and r[a] + p[a] == r[v]
            via_machine = b >= 0 and r[b] + p[b] == r[v]
            if via_job and via_machine:
                v = a if np.random.randint(2) == 0 else b
            elif via_job:
                v = a
            elif via_machine:
                v = b
            else:
                v = -1
        for ci in range(ncand):
            v = cand[ci]
            k0 = mach[v]
            a, b, pv, rv, qv, cm = _lift(v, mach, mp, ms, first, p, jp, js, r, q, rm, qm,
                                         order, rank)
            sa = a if a >= 0 else n + k0
            sb = b if b >= 0 else n + k0
            for k in range(m):
                pk = proc[v, k]
                if pk < 0:
                    continue
                n_seq, lo, hi = _window(v, k, p, rm, qm, rv, qv, first, ms, seq)
                for pos in range(lo, hi + 1):
                    u = seq[pos - 1] if pos > 0 else -1
                    w = seq[pos] if pos < n_seq else -1
                    if k == k0 and u == a:
                        continue  # where it already is
                    head = rv
                    if u >= 0 and rm[u] + p[u] > head:
                        head = rm[u] + p[u]
                    tail = qv
                    if w >= 0 and p[w] + qm[w] > tail:
                        tail = p[w] + qm[w]
                    est = head + pk + tail
                    # Lexicographic: the new makespan's lower estimate, then the path via v
                    # (on a plateau of equal makespans, the move that relieves v most).
                    est = (cm if cm > est else est) * (1 << 20) + est
                    su = u if u >= 0 else n + k
                    sw = w if w >= 0 else n + k
                    forbidden = tabu[su, v] > it or tabu[v, sw] > it or tabu[sa, sb] > it
                    if forbidden and est >= state[_BEST] * (1 << 20):
                        if est < tabu_est:
                            tabu_est = est
                            tv = v
                            tk = k
                            tu = u
                            tw = w
                        continue
                    if est < best_est:
                        best_est = est
                        best_count = 1
                        mv = v
                        mk = k
                        mu = u
                        mw = w
                    elif est == best_est:
                        best_count += 1
                        if np.random.randint(best_count) == 0:
                            mv = v
                            mk = k
                            mu = u
                            mw = w
            p[v] = pv
            _link(v, k0, a, b, mach, mp, ms, first)
        if mv < 0:
            if tv < 0:
                return  # nothing can move: a single machine per operation, all fixed
            mv = tv
            mk = tk
            mu = tu
            mw = tw
        # Tabu: the machine arcs this move breaks may not come back for a while.
        sa = mp[mv] if mp[mv] >= 0 else n + mach[mv]
        sb = ms[mv] if ms[mv] >= 0 else n + mach[mv]
        su = mu if mu >= 0 else n + mk
        sw = mw if mw >= 0 else n + mk
        _unlink(mv, mach, mp, ms, first)
        _link(mv, mk, mu, mw, mach, mp, ms, first)
        p[mv] = proc[mv, mk]
        cmax = _heads_tails(p, jp, js, mp, ms, r, q, order, indeg, rank)
        until = it + tenure_lo + np.random.randint(tenure_span + 1)
        tabu[sa, mv] = until
        tabu[mv, sb] = until
        tabu[su, sw] = until
        state[_CUR] = cmax
        if cmax < state[_BEST]:
            state[_BEST] = cmax
            state[_LAST_GAIN] = it
            best_mach[:] = mach
            best_mp[:] = mp
            best_ms[:] = ms
            best_first[:] = first
        elif it - state[_LAST_GAIN] > stall:
            # Restart from the best with a few random feasible moves, fresh tabu memory.
            state[_LAST_GAIN] = it
            state[_RESTARTS] += 1
            mach[:] = best_mach
            mp[:] = best_mp
            ms[:] = best_ms
            first[:] = best_first
            tabu[:, :] = 0
            for v in range(n):
                p[v] = proc[v, mach[v]]
            for _ in range(kick):
                v = np.random.randint(n)
                k = np.random.randint(m)
                if proc[v, k] < 0:
                    continue
                _heads_tails(p, jp, js, mp, ms, r, q, order, indeg, rank)
                _, _, _, rv, qv, _ = _lift(v, mach, mp, ms, first, p, jp, js, r, q, rm, qm,
                                           order, rank)
                n_seq, lo, hi = _window(v, k, p, rm, qm, rv, qv, first, ms, seq)
                pos = lo + np.random.randint(hi - lo + 1)
                u = seq[pos - 1] if pos > 0 else -1
                w = seq[pos] if pos < n_seq else -1
                _link(v, k, u, w, mach, mp, ms, first)
                p[v] = proc[v, k]
            cmax = _heads_tails(p, jp, js, mp, ms, r, q, order, indeg, rank)
            state[_CUR] = cmax


@njit(cache=True, nogil=True)  # type: ignore[misc]
def _seed(seed: int) -> None:
    np.random.seed(seed)


@njit(cache=True, nogil=True)  # type: ignore[misc]
def _starts(proc: Array, jp: Array, js: Array, mach: Array, mp: Array, ms: Array,
            out: Array) -> int:
    n = proc.shape[0]
    p = np.empty(n, np.int64)
    for v in range(n):
        p[v] = proc[v, mach[v]]
    q = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    indeg = np.empty(n, np.int64)
    rank = np.empty(n, np.int64)
    return int(_heads_tails(p, jp, js, mp, ms, out, q, order, indeg, rank))


@dataclass(slots=True)
class TabuStats:
    """What the search did, for the benchmark's notes."""

    iterations: int = 0
    restarts: int = 0
    adopted: int = 0


class TabuSearch:
    """One tabu search over one instance, resumable: each ``run`` continues the walk where the
    last one stopped unless it is handed a better schedule than its own best (then it starts
    again from that one), so a caller can share incumbents with another search between runs.

    Not thread-safe per object; give each thread its own (the compiled kernel releases the GIL).
    Defaults come from 10 s single-thread runs on mk06 and mk10, two seeds each (2026-11-23):
    tenure 10-18 iterations gave mk10 197/197 and mk06 58/58; 7-13 gave 198/197, 14-24
    199/198, 20-35 about 199; a stall of 20,000 iterations before a restart beat 6,000 and
    50,000 by 1-4 units on mk10.
    """

    def __init__(self, ops: list[Op], seed: int = 0, *, stall: int = 20_000, kick: int = 4,
                 tenure: tuple[int, int] = (10, 18)) -> None:
        self.ops = ops
        n = len(ops)
        self.machines = sorted({mc for o in ops for mc, _ in o.alts})
        self.index = {mc: i for i, mc in enumerate(self.machines)}
        m = len(self.machines)
        self.proc = np.full((n, m), -1, np.int64)
        for v, o in enumerate(ops):
            for mc, dur in o.alts:
                self.proc[v, self.index[mc]] = dur
        self.jp = np.array([v - 1 if o.index > 0 else -1 for v, o in enumerate(ops)], np.int64)
        self.js = np.array([v + 1 if v + 1 < n and ops[v + 1].job == o.job else -1
                            for v, o in enumerate(ops)], np.int64)
        self.stall = stall
        self.kick = kick
        self.tenure = tenure
        self.stats = TabuStats()
        self.best: Assignment | None = None
        self._graph_now: tuple[Array, Array, Array, Array] | None = None
        self._graph_best: tuple[Array, Array, Array, Array] | None = None
        self._tabu = np.zeros((n + m, n + m), np.int64)
        self._state = np.zeros(5, np.int64)
        self._seed: int | None = seed  # Numba's generator is per thread: seed in ``run``

    def _graph(self, a: Assignment) -> tuple[Array, Array, Array, Array]:
        n, m = self.proc.shape
        mach = np.array([self.index[mc] for mc in a.machine], np.int64)
        mp = np.full(n, -1, np.int64)
        ms = np.full(n, -1, np.int64)
        first = np.full(m, -1, np.int64)
        for k in range(m):
            seq = sorted((v for v in range(n) if mach[v] == k), key=lambda v: (a.start[v], v))
            if seq:
                first[k] = seq[0]
            for x, y in itertools.pairwise(seq):
                ms[x], mp[y] = y, x
        return mach, mp, ms, first

    def _assignment(self, mach: Array, mp: Array, ms: Array) -> Assignment:
        start = np.zeros(len(self.ops), np.int64)
        if _starts(self.proc, self.jp, self.js, mach, mp, ms, start) < 0:
            raise AssertionError("tabu search produced a cyclic schedule")
        return assignment_of(self.ops, [self.machines[int(k)] for k in mach],
                             [int(x) for x in start])

    def _restart_from(self, a: Assignment) -> None:
        graph = self._graph(a)
        self.best = self._assignment(*graph[:3])  # semi-active: never later than ``a``
        self._graph_now = graph
        self._graph_best = tuple(x.copy() for x in graph)  # type: ignore[assignment]
        self._tabu[:, :] = 0
        it = int(self._state[_IT])
        self._state[:] = (it, it, self.best.makespan, self.best.makespan, 0)

    def run(self, incumbent: Assignment, deadline: float, *, lower: int = 0,
            chunk: int = 500, iterations: int | None = None) -> Assignment:
        """Search until ``deadline`` (perf_counter), a makespan of ``lower`` or, if given,
        ``iterations`` more steps (with the same seed and incumbents, the same iterations
        give the same schedule); the best schedule found so far (semi-active: each
        operation at its earliest start), never worse than ``incumbent``."""
        if self._seed is not None:
            _seed(self._seed)
            self._seed = None
        if self.best is None or incumbent.key() < self.best.key():
            if self.best is not None:
                self.stats.adopted += 1
            self._restart_from(incumbent)
        assert self._graph_now is not None
        assert self._graph_best is not None
        mach, mp, ms, first = self._graph_now
        b_mach, b_mp, b_ms, b_first = self._graph_best
        lo, hi = self.tenure
        state = self._state
        it0, restarts0, best0 = int(state[_IT]), int(state[_RESTARTS]), int(state[_BEST])
        stop = it0 + iterations if iterations is not None else None
        while time.perf_counter() < deadline and int(state[_BEST]) > lower:
            steps = chunk if stop is None else min(chunk, stop - int(state[_IT]))
            if steps <= 0:
                break
            _search(self.proc, self.jp, self.js, mach, mp, ms, first, b_mach, b_mp, b_ms,
                    b_first, self._tabu, state, steps, lower, lo, hi - lo, self.stall,
                    self.kick)
        self.stats.iterations += int(state[_IT]) - it0
        self.stats.restarts += int(state[_RESTARTS]) - restarts0
        if int(state[_BEST]) < best0:
            self.best = self._assignment(b_mach, b_mp, b_ms)
        assert self.best is not None
        return self.best if self.best.key() <= incumbent.key() else incumbent


def warm_up() -> None:
    """Compile (or load from Numba's on-disk cache) every kernel on a two-job instance, so
    a timed solve does not pay for compilation."""
    ops = [Op(0, 0, ((1, 2), (2, 3))), Op(0, 1, ((1, 1),)), Op(1, 0, ((2, 2), (1, 1)))]
    a = Assignment([1, 1, 2], [0, 2, 0], 3)
    TabuSearch(ops).run(a, time.perf_counter() + 600.0, iterations=5)  # no deadline race
