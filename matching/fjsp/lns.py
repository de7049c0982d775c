"""FJSP makespan by a direct CP-SAT model plus large neighbourhood search (LNS) around it.

Why a direct model: with one piece per job the engine's general lot model carries booleans
(placement, lot presence, quantities) that FJSP does not need; the classical model here is
one optional interval per (operation, eligible machine) sharing the operation's start and end,
exactly one present, no-overlap per machine, job precedence, plus a redundant load cut per
machine. Why LNS: with two workers CP-SAT's portfolio is one full search plus interleaved
generic neighbourhoods, and on the large Brandimarte instances (mk06, mk10) it stalls well
above the best known. Each LNS step keeps most operations on their incumbent machine *and* in
their incumbent order on that machine (start times stay free, so the schedule can still
shift), or for kind "resequence" only on their machine, frees the others completely, and
re-solves for about half a second, accepting an equal or better (makespan, sum of job ends).
Why the dispatch multi-start: an earliest-finish rule weighted by the job's work left starts
the search far lower than the engine's order-by-order greedy (mk10: 228 against 386).
The lower bound reported comes only from full-model phases and trivial bounds, so it stays a
true bound.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

# jobs[j][i] = the alternatives (machine 1-based, processing time) of operation i of job j.
Jobs = list[list[list[tuple[int, int]]]]


@dataclass(frozen=True, slots=True)
class Op:
    """One operation, flat-indexed: job and op 0-based, its alternatives."""

    job: int
    index: int
    alts: tuple[tuple[int, int], ...]


@dataclass(slots=True)
class Assignment:
    """A schedule as machine and start per flat operation index."""

    machine: list[int]
    start: list[int]
    makespan: int
    flow: int = 0  # sum of job completion times, the tie-breaker on makespan plateaus

    def key(self) -> tuple[int, int]:
        return self.makespan, self.flow


@dataclass(slots=True)
class LnsStats:
    """What the search did, for the benchmark's notes."""

    full_phase_s: float = 0.0
    steps: int = 0
    improvements: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    proven: int = 0
    sizes: dict[str, float] = field(default_factory=dict)
    trace: list[tuple[float, int]] = field(default_factory=list)
    tabu_iterations: int = 0
    tabu_restarts: int = 0
    tabu_improvements: int = 0


class Board:
    """The best schedule shared by searches running side by side (LNS threads, the tabu
    search): each offers what it finds and picks up what the others found."""

    def __init__(self, best: Assignment) -> None:
        self._lock = threading.Lock()
        self._best = best

    @property
    def best(self) -> Assignment:
        with self._lock:
            return self._best

    def offer(self, found: Assignment) -> bool:
        """Keep ``found`` if it is at least as good; True when it strictly improves."""
        with self._lock:
            better = found.key() < self._best.key()
            if found.key() <= self._best.key():
                self._best = found
            return better


def flatten(jobs: Jobs) -> list[Op]:
    return [Op(j, i, tuple(alts)) for j, ops in enumerate(jobs) for i, alts in enumerate(ops)]


def trivial_bound(jobs: Jobs) -> int:
    """Longest job on its fastest machines, and total fastest work spread over all machines."""
    machines = {m for ops in jobs for alts in ops for m, _ in alts}
    fastest = [[min(p for _, p in alts) for alts in ops] for ops in jobs]
    longest = max((sum(f) for f in fastest), default=0)
    spread = math.ceil(sum(sum(f) for f in fastest) / max(1, len(machines)))
    return max(longest, spread)


def dispatch(ops: list[Op], rng: random.Random | None = None, noise: float = 0.0,
             weight: float = 1.0, urgency: float = 1e-3) -> Assignment:
    """Global earliest-finish list schedule: among every job's next operation and each of its
    machines, place the pair that finishes first (ties: most work left in the job); ``noise``
    perturbs the choice so a multi-start yields different schedules."""
    first: dict[int, int] = {}
    for k, o in enumerate(ops):
        first.setdefault(o.job, k)
    rest = dict.fromkeys(first, 0)
    for o in ops:
        rest[o.job] += min(p for _, p in o.alts)
    nxt = dict(first)
    ready = dict.fromkeys(first, 0)
    free: dict[int, int] = {}
    machine = [0] * len(ops)
    start = [0] * len(ops)
    for _ in range(len(ops)):
        best: tuple[float, int, int, int] | None = None
        for j, k in nxt.items():
            for mc, p in ops[k].alts:
                s = max(ready[j], free.get(mc, 0))
                score = s + weight * p - rest[j] * urgency
                if noise and rng is not None:
                    score *= 1.0 + noise * rng.random()
                if best is None or score < best[0]:
                    best = (score, k, mc, s)
        assert best is not None
        _, k, mc, s = best
        p = dict(ops[k].alts)[mc]
        machine[k], start[k] = mc, s
        free[mc] = s + p
        j = ops[k].job
        ready[j] = s + p
        rest[j] -= min(q for _, q in ops[k].alts)
        if k + 1 < len(ops) and ops[k + 1].job == j:
            nxt[j] = k + 1
        else:
            del nxt[j]
    return assignment_of(ops, machine, start)


def multi_start(ops: list[Op], runs: int = 40, seed: int = 0) -> Assignment:
    """The best of dispatch schedules over a spread of urgencies (weight of the job's work
    left against the finish time), half of them with perturbed choices."""
    rng = random.Random(seed)
    best = dispatch(ops, urgency=0.5)
    for r in range(runs):
        a = dispatch(ops, rng, noise=0.05 * (r % 2), urgency=rng.uniform(0.2, 2.0))
        if a.key() < best.key():
            best = a
    return best


@dataclass(slots=True)
class _Model:
    model: cp_model.CpModel
    starts: list[cp_model.IntVar]
    lits: list[dict[int, cp_model.IntVar | int]]
    cmax: cp_model.IntVar


def build(ops: list[Op], *, fixed: dict[int, int] | None = None,
          chains: list[tuple[int, int]] = (), upper: int | None = None,  # type: ignore[assignment]
          hint: Assignment | None = None, flow: bool = False,
          prune: float | None = None) -> _Model:
    """The FJSP model; ``fixed`` pins operations to a machine, ``chains`` orders pairs (a
    before b), ``upper`` caps the makespan, ``hint`` seeds the search, ``flow`` breaks
    makespan ties by the sum of job ends, ``prune`` drops slow machines of free operations."""
    fixed = fixed or {}
    horizon = upper if upper is not None else sum(max(p for _, p in o.alts) for o in ops)
    m = cp_model.CpModel()
    cmax = m.new_int_var(0, horizon, "cmax")
    starts: list[cp_model.IntVar] = []
    ends: list[cp_model.IntVar] = []
    lits: list[dict[int, cp_model.IntVar | int]] = []
    on_machine: dict[int, list[cp_model.IntervalVar]] = {}
    load: dict[int, list[tuple[int, cp_model.IntVar | int]]] = {}
    for k, o in enumerate(ops):
        if k in fixed:
            allowed = [(mc, p) for mc, p in o.alts if mc == fixed[k]]
        elif prune is not None:  # only machines at most ``prune`` x the fastest, or the hint's
            fast = min(p for _, p in o.alts) * prune
            allowed = [(mc, p) for mc, p in o.alts
                       if p <= fast or (hint is not None and mc == hint.machine[k])]
        else:
            allowed = list(o.alts)
        lo = min(p for _, p in allowed)
        s = m.new_int_var(0, horizon - lo, f"s{k}")
        e = m.new_int_var(lo, horizon, f"e{k}")
        mine: dict[int, cp_model.IntVar | int] = {}
        if len(allowed) == 1:
            mc, p = allowed[0]
            on_machine.setdefault(mc, []).append(m.new_interval_var(s, p, e, f"i{k}"))
            mine[mc] = 1
            load.setdefault(mc, []).append((p, 1))
        else:
            for mc, p in allowed:
                lit = m.new_bool_var(f"x{k}_{mc}")
                on_machine.setdefault(mc, []).append(
                    m.new_optional_interval_var(s, p, e, lit, f"i{k}_{mc}"))
                mine[mc] = lit
                load.setdefault(mc, []).append((p, lit))
            m.add_exactly_one(v for v in mine.values() if not isinstance(v, int))
        starts.append(s)
        ends.append(e)
        lits.append(mine)
    job_ends = []
    for k in range(len(ops)):
        last = k + 1 == len(ops) or ops[k + 1].job != ops[k].job
        if last:
            m.add(cmax >= ends[k])
            job_ends.append(ends[k])
        else:
            m.add(ends[k] <= starts[k + 1])
    for intervals in on_machine.values():
        m.add_no_overlap(intervals)
    for terms in load.values():  # redundant: a machine's work fits before the makespan
        m.add(sum(p * x for p, x in terms) <= cmax)
    for a, b in chains:
        m.add(ends[a] <= starts[b])
    if flow:  # lexicographic: makespan first, then the sum of job ends
        m.minimize(cmax * (len(job_ends) * horizon + 1) + sum(job_ends))
    else:
        m.minimize(cmax)
    if hint is not None:
        for k in range(len(ops)):
            m.add_hint(starts[k], hint.start[k])
            for mc, choice in lits[k].items():
                if not isinstance(choice, int):
                    m.add_hint(choice, mc == hint.machine[k])
        m.add_hint(cmax, hint.makespan)
    return _Model(m, starts, lits, cmax)


def solve_once(mdl: _Model, ops: list[Op], time_s: float, workers: int, seed: int,
           ) -> tuple[Assignment | None, cp_model.CpSolver, Any]:
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.max_time_in_seconds = max(0.05, time_s)
    p.num_workers = workers
    p.random_seed = seed
    status = solver.solve(mdl.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver, status
    machine = [next(mc for mc, lit in mdl.lits[k].items()
                    if isinstance(lit, int) or solver.boolean_value(lit))
               for k in range(len(ops))]
    start = [solver.value(mdl.starts[k]) for k in range(len(ops))]
    return assignment_of(ops, machine, start), solver, status


def assignment_of(ops: list[Op], machine: list[int], start: list[int]) -> Assignment:
    """The ``Assignment`` of machines and starts, with its makespan and flow."""
    ends = [start[k] + dict(o.alts)[machine[k]] for k, o in enumerate(ops)]
    job_end: dict[int, int] = {}
    for k, o in enumerate(ops):
        job_end[o.job] = max(job_end.get(o.job, 0), ends[k])
    return Assignment(machine, start, max(ends, default=0), sum(job_end.values()))


def _critical(ops: list[Op], a: Assignment) -> set[int]:
    """Operations on a critical path: walk back from the last end through tight links."""
    dur = [dict(o.alts)[a.machine[k]] for k, o in enumerate(ops)]
    end = [a.start[k] + dur[k] for k in range(len(ops))]
    by_end: dict[tuple[int, int], list[int]] = {}
    for k in range(len(ops)):
        by_end.setdefault((a.machine[k], end[k]), []).append(k)
    todo = [k for k in range(len(ops)) if end[k] == a.makespan]
    seen: set[int] = set()
    while todo:
        k = todo.pop()
        if k in seen:
            continue
        seen.add(k)
        if a.start[k] == 0:
            continue
        if ops[k].index > 0 and end[k - 1] == a.start[k]:
            todo.append(k - 1)
        todo.extend(by_end.get((a.machine[k], a.start[k]), []))
    return seen


def _neighbourhood(kind: str, ops: list[Op], a: Assignment, size: float,
                   rng: random.Random) -> set[int]:
    """Operations freed (machine and order) by one LNS step of ``kind``."""
    n = len(ops)
    target = max(2, int(size * n))
    if kind == "window":
        order = sorted(range(n), key=lambda k: a.start[k])
        first = rng.randrange(max(1, n - target + 1))
        return set(order[first:first + target])
    if kind == "jobs":
        jobs = sorted({o.job for o in ops})
        rng.shuffle(jobs)
        freed: set[int] = set()
        for j in jobs:
            if len(freed) >= target:
                break
            freed |= {k for k, o in enumerate(ops) if o.job == j}
        return freed
    if kind == "machines":
        machines = sorted(set(a.machine))
        rng.shuffle(machines)
        freed = set()
        for mc in machines:
            if len(freed) >= target:
                break
            freed |= {k for k in range(n) if a.machine[k] == mc}
        return freed
    if kind == "resequence":  # a few random operations may change machine
        return set(rng.sample(range(n), min(n, target)))
    # "critical": critical operations first, each with its job neighbours, then random fill
    crit = list(_critical(ops, a))
    rng.shuffle(crit)
    freed = set()
    for k in crit:
        if len(freed) >= target:
            break
        freed.add(k)
        if rng.random() < 0.5:
            freed |= {q for q in (k - 1, k + 1) if 0 <= q < n and ops[q].job == ops[k].job}
    return freed


# Share of LNS steps whose freed operations only see machines at most PRUNE x their fastest
# (plus their current one): smaller sub-models, so larger neighbourhoods fit in a step.
PRUNE, PRUNE_SHARE = 1.5, 0.5
KINDS = ("critical", "window", "jobs", "machines", "resequence")


def _relaxed(ops: list[Op], best: Assignment, freed: set[int], *, keep_order: bool = True,
             prune: float | None = None) -> _Model:
    """The sub-model of one step: operations outside ``freed`` keep their machine, and with
    ``keep_order`` also their order on it (without, the step re-sequences every machine)."""
    fixed = {k: best.machine[k] for k in range(len(ops)) if k not in freed}
    if not keep_order:
        return build(ops, fixed=fixed, upper=best.makespan, hint=best, flow=True,
                     prune=prune)
    by_machine: dict[int, list[int]] = {}
    for k in sorted(fixed, key=lambda k: best.start[k]):
        by_machine.setdefault(fixed[k], []).append(k)
    chains = [pair for seq in by_machine.values() for pair in itertools.pairwise(seq)]
    return build(ops, fixed=fixed, chains=chains, upper=best.makespan, hint=best, flow=True,
                 prune=prune)


def lns(ops: list[Op], incumbent: Assignment, deadline: float, *, lower: int,
        workers: int = 2, step_s: float = 1.0, seed: int = 0,
        stats: LnsStats | None = None, stall_s: float | None = None,
        board: Board | None = None) -> Assignment:
    """Improve ``incumbent`` until ``deadline`` (perf_counter), until it meets ``lower``, or
    (with ``stall_s``) until the makespan has not improved for ``stall_s`` seconds.

    ``workers`` threads each run one-worker sub-solves on their own neighbourhoods and share
    the incumbent (CP-SAT releases the GIL while it solves), which on two cores gives about
    twice the steps of one two-worker sub-solve at a time. With ``board`` the threads also
    take up better schedules another search posted there, and post their own. Each kind of
    neighbourhood adapts
    its own size: a step that proves its sub-problem optimal grows the next one, a step that
    runs out of time shrinks it.
    """
    lock = threading.Lock()
    sizes = dict.fromkeys(KINDS, 0.15)
    state = {"best": incumbent, "step": 0, "gain_t": time.perf_counter()}
    gains = dict.fromkeys(KINDS, 0)
    stats = stats if stats is not None else LnsStats()

    def worker(tid: int) -> None:
        rng = random.Random(seed * 7919 + tid)
        while True:
            with lock:
                shared = board.best if board is not None else None
                if shared is not None and shared.key() < state["best"].key():  # type: ignore[attr-defined]
                    state["best"] = shared
                    state["gain_t"] = time.perf_counter()
                best: Assignment = state["best"]  # type: ignore[assignment]
                step = int(state["step"])  # type: ignore[call-overload]
                state["step"] = step + 1
            now = time.perf_counter()
            left = deadline - now
            if best.makespan <= lower or left < 0.2:
                return
            if stall_s is not None and now - float(state["gain_t"]) > stall_s:  # type: ignore[arg-type]
                return
            # Each kind in turn at first, then in proportion to the makespan gains it made.
            kind = (KINDS[step % len(KINDS)] if step < 2 * len(KINDS) else
                    rng.choices(KINDS, weights=[1 + 2 * gains[k] for k in KINDS])[0])
            freed = _neighbourhood(kind, ops, best, sizes[kind], rng)
            prune = PRUNE if rng.random() < PRUNE_SHARE else None
            model = _relaxed(ops, best, freed, keep_order=kind != "resequence", prune=prune)
            found, _, status = solve_once(model, ops, min(step_s, left), 1,
                                      seed + step)
            with lock:
                current: Assignment = state["best"]  # type: ignore[assignment]
                if found is not None and found.key() <= current.key():
                    if found.makespan < current.makespan:
                        gains[kind] += 1
                        state["gain_t"] = time.perf_counter()
                        stats.improvements += 1
                        stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
                        stats.trace.append((round(time.perf_counter(), 1), found.makespan))
                    state["best"] = found
                    if board is not None:
                        board.offer(found)
                if status == cp_model.OPTIMAL:
                    stats.proven += 1
                    sizes[kind] = min(0.85, sizes[kind] * 1.15)
                else:
                    sizes[kind] = max(0.03, sizes[kind] * 0.85)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats.steps += int(state["step"])  # type: ignore[call-overload]
    stats.sizes = {k: round(v, 3) for k, v in sizes.items()}
    return state["best"]  # type: ignore[return-value]
