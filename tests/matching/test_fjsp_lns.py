"""The FJSP fast path's schedules are feasible and report their own makespan and a true bound.

The checker here is independent of ``bench.fjsp.check_schedule`` and of the solver: it
rebuilds machine timelines and job chains from the raw instance.
"""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

import pytest

from matching.cpsat import Budget
from matching.fjsp import Scheduled, parse_fjs, solve_fjsp
from matching.fjsp.lns import (
    Assignment,
    Jobs,
    LnsStats,
    dispatch,
    flatten,
    lns,
    multi_start,
    trivial_bound,
)

FATTAHI1 = "2 2 2\n2 2 1 25 2 37 2 1 32 2 24\n2 2 1 45 2 65 2 1 21 2 65\n"
MK = Path(__file__).resolve().parents[2] / "bench/instances/brandimarte"


def violations(jobs: Jobs, rows: list[tuple[int, int, int, int, int]]) -> list[str]:
    """Every broken rule of an FJSP schedule given as (job, op, machine, start, end), 1-based."""
    found: list[str] = []
    want = {(j, i) for j, ops in enumerate(jobs, 1) for i in range(1, len(ops) + 1)}
    got = [(j, i) for j, i, *_ in rows]
    if sorted(got) != sorted(want):
        found.append("operations missing or repeated")
    timeline: dict[int, list[tuple[int, int]]] = {}
    end_of: dict[tuple[int, int], int] = {}
    start_of: dict[tuple[int, int], int] = {}
    for j, i, mc, s, e in rows:
        allowed = dict(jobs[j - 1][i - 1]) if (j, i) in want else {}
        if mc not in allowed:
            found.append(f"J{j}O{i} on machine {mc} it cannot use")
        elif e - s != allowed[mc]:
            found.append(f"J{j}O{i} lasts {e - s}, machine {mc} needs {allowed[mc]}")
        if s < 0:
            found.append(f"J{j}O{i} starts before 0")
        timeline.setdefault(mc, []).append((s, e))
        end_of[(j, i)], start_of[(j, i)] = e, s
    for mc, spans in timeline.items():
        spans.sort()
        found += [f"overlap on machine {mc} at {b[0]}" for a, b in itertools.pairwise(spans)
                  if b[0] < a[1]]
    for (j, i), s in start_of.items():
        if i > 1 and (j, i - 1) in end_of and s < end_of[(j, i - 1)]:
            found.append(f"J{j}O{i} starts before J{j}O{i - 1} ends")
    return found


def rows_of(schedule: list[Scheduled]) -> list[tuple[int, int, int, int, int]]:
    return [(s.job, s.op, s.machine, s.start, s.end) for s in schedule]


def rows_of_assignment(jobs: Jobs, a: Assignment) -> list[tuple[int, int, int, int, int]]:
    return [(o.job + 1, o.index + 1, a.machine[k], a.start[k],
             a.start[k] + dict(o.alts)[a.machine[k]]) for k, o in enumerate(flatten(jobs))]


def random_instance(seed: int, n_jobs: int = 6, n_machines: int = 4) -> Jobs:
    rng = random.Random(seed)
    return [[[(m, rng.randint(1, 20)) for m in sorted(rng.sample(range(1, n_machines + 1),
                                                                  rng.randint(1, 3)))]
             for _ in range(rng.randint(2, 5))] for _ in range(n_jobs)]


def test_checker__catches_each_broken_rule() -> None:
    jobs = parse_fjs(FATTAHI1)
    good = [(1, 1, 1, 0, 25), (1, 2, 2, 25, 49), (2, 1, 1, 25, 70), (2, 2, 1, 70, 91)]
    assert violations(jobs, good) == []
    assert violations(jobs, [(1, 1, 1, 0, 25), (1, 2, 2, 25, 49), (2, 1, 1, 10, 55),
                             (2, 2, 1, 70, 91)])  # overlap on machine 1
    assert violations(jobs, [(1, 1, 1, 0, 25), (1, 2, 2, 20, 44), (2, 1, 1, 25, 70),
                             (2, 2, 1, 70, 91)])  # J1O2 before J1O1 ends
    assert violations(jobs, [(1, 1, 1, 0, 30), (1, 2, 2, 30, 54), (2, 1, 1, 30, 75),
                             (2, 2, 1, 75, 96)])  # wrong duration
    assert violations(jobs, good[:3])  # missing operation


@pytest.mark.parametrize("seed", range(4))
def test_solve_fjsp__random_instances_feasible_with_true_bound(seed: int) -> None:
    jobs = random_instance(seed)
    schedule, answer = solve_fjsp(jobs, Budget(time_limit_s=1.5, workers=2, seed=seed))
    assert violations(jobs, rows_of(schedule)) == []
    span = max(s.end for s in schedule)
    assert answer.makespan == span
    assert trivial_bound(jobs) <= answer.bound <= span
    assert (answer.status == "OPTIMAL") == (answer.bound == span)


def test_solve_fjsp__fattahi1_optimum_with_lns_phase_only() -> None:
    """No time for the full model: the optimum 66 must come from dispatch + LNS."""
    jobs = parse_fjs(FATTAHI1)
    schedule, answer = solve_fjsp(jobs, Budget(time_limit_s=1.0, workers=2), full_share=0.0)
    assert violations(jobs, rows_of(schedule)) == []
    assert answer.makespan == max(s.end for s in schedule) == 66


@pytest.mark.parametrize("seed", range(3))
def test_dispatch__schedules_are_feasible(seed: int) -> None:
    jobs = random_instance(100 + seed, n_jobs=8, n_machines=5)
    ops = flatten(jobs)
    for a in (dispatch(ops), dispatch(ops, random.Random(seed), noise=0.1, urgency=1.0),
              multi_start(ops, runs=5, seed=seed)):
        rows = rows_of_assignment(jobs, a)
        assert violations(jobs, rows) == []
        assert a.makespan == max(r[4] for r in rows)


def test_lns__never_worse_and_feasible() -> None:
    jobs = random_instance(7, n_jobs=10, n_machines=5)
    ops = flatten(jobs)
    start = dispatch(ops, urgency=0.0)
    stats = LnsStats()
    best = lns(ops, start, time.perf_counter() + 2.0, lower=trivial_bound(jobs), workers=2,
               step_s=0.2, stats=stats)
    assert violations(jobs, rows_of_assignment(jobs, best)) == []
    assert best.key() <= start.key()
    assert stats.steps > 0


def test_lns__improves_a_poor_mk04_schedule() -> None:
    jobs = parse_fjs((MK / "mk04.fjs").read_text())
    ops = flatten(jobs)
    start = dispatch(ops, urgency=0.0)
    best = lns(ops, start, time.perf_counter() + 3.0, lower=trivial_bound(jobs), workers=2,
               step_s=0.3)
    assert violations(jobs, rows_of_assignment(jobs, best)) == []
    assert best.makespan < start.makespan
