"""The tabu search returns feasible schedules, never worse than its start, reaches the optimum
of small instances, repeats for a fixed seed and iteration count, and shares incumbents."""

from __future__ import annotations

import time

import numpy as np
import pytest

from matching.cpsat import Budget
from matching.fjsp import parse_fjs, solve_fjsp
from matching.fjsp import tabu as kernel
from matching.fjsp.lns import (
    Assignment,
    Board,
    build,
    dispatch,
    flatten,
    multi_start,
    solve_once,
    trivial_bound,
)
from matching.fjsp.tabu import TabuSearch, warm_up
from tests.matching.test_fjsp_lns import (
    FATTAHI1,
    MK,
    random_instance,
    rows_of,
    rows_of_assignment,
    violations,
)


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()


@pytest.mark.parametrize("seed", range(6))
def test_tabu__feasible_never_worse_and_reports_its_own_makespan(seed: int) -> None:
    jobs = random_instance(200 + seed, n_jobs=8, n_machines=4)
    ops = flatten(jobs)
    start = dispatch(ops, urgency=0.0)
    best = TabuSearch(ops, seed=seed).run(start, time.perf_counter() + 5.0, iterations=3000)
    rows = rows_of_assignment(jobs, best)
    assert violations(jobs, rows) == []
    assert best.makespan == max(r[4] for r in rows)
    assert best.key() <= start.key()


@pytest.mark.parametrize("seed", range(4))
def test_tabu__reaches_the_proven_optimum_of_small_instances(seed: int) -> None:
    jobs = random_instance(300 + seed, n_jobs=5, n_machines=3)
    ops = flatten(jobs)
    start = dispatch(ops, urgency=0.0)
    optimum, solver, _ = solve_once(build(ops, hint=start), ops, 10.0, 2, 0)
    assert optimum is not None
    assert solver.best_objective_bound >= optimum.makespan - 1e-6
    best = TabuSearch(ops, seed=seed).run(start, time.perf_counter() + 5.0,
                                          lower=optimum.makespan)
    assert best.makespan == optimum.makespan


def test_tabu__same_seed_and_iterations_same_schedule() -> None:
    jobs = random_instance(11, n_jobs=10, n_machines=5)
    ops = flatten(jobs)
    start = dispatch(ops, urgency=0.0)
    runs = [TabuSearch(ops, seed=5).run(start, time.perf_counter() + 30.0, iterations=2000)
            for _ in range(2)]
    assert runs[0] == runs[1]


def test_tabu__resumes_its_walk_and_adopts_a_better_incumbent() -> None:
    jobs = random_instance(12, n_jobs=10, n_machines=5)
    ops = flatten(jobs)
    poor = dispatch(ops, urgency=0.0)
    search = TabuSearch(ops, seed=1)
    first = search.run(poor, time.perf_counter() + 5.0, iterations=50)
    second = search.run(poor, time.perf_counter() + 5.0, iterations=50)
    assert search.stats.iterations == 100
    assert search.stats.adopted == 0
    assert second.key() <= first.key()
    better = Assignment(list(second.machine), list(second.start), second.makespan - 1,
                        second.flow)  # claims to be better: the search must restart from it
    search.run(better, time.perf_counter() + 5.0, iterations=10)
    assert search.stats.adopted == 1


def test_board__keeps_the_best_and_says_when_it_improved() -> None:
    a, b, c = (Assignment([1], [0], span, flow) for span, flow in ((10, 5), (9, 9), (9, 9)))
    board = Board(a)
    assert board.offer(b) is True
    assert board.best is b
    assert board.offer(c) is False
    assert board.best is c
    assert board.offer(a) is False
    assert board.best is c


def test_tabu__improves_mk06_beyond_the_best_dispatch_schedule() -> None:
    jobs = parse_fjs((MK / "mk06.fjs").read_text())
    ops = flatten(jobs)
    start = multi_start(ops)
    search = TabuSearch(ops, seed=0)
    best = search.run(start, time.perf_counter() + 3.0, lower=trivial_bound(jobs))
    assert violations(jobs, rows_of_assignment(jobs, best)) == []
    assert best.makespan < start.makespan - 2
    assert search.stats.iterations > 1000


def test_solve_fjsp__hybrid_runs_both_searches_and_stays_feasible() -> None:
    jobs = parse_fjs((MK / "mk06.fjs").read_text())
    schedule, answer = solve_fjsp(jobs, Budget(time_limit_s=3.0, workers=2), full_share=0.2)
    assert violations(jobs, rows_of(schedule)) == []
    assert answer.makespan == max(s.end for s in schedule)
    assert answer.status == "FEASIBLE"
    assert answer.bound < answer.makespan
    assert answer.stats.tabu_iterations > 1000
    assert answer.stats.steps > 0


def test_solve_fjsp__fattahi1_optimum_without_tabu() -> None:
    jobs = parse_fjs(FATTAHI1)
    _, answer = solve_fjsp(jobs, Budget(time_limit_s=1.0, workers=2), tabu=False)
    assert answer.makespan == 66


@pytest.mark.parametrize("seed", range(3))
def test_heads_tails_without_one_operation__incremental_equals_full_pass(seed: int) -> None:
    """The kernel's shortcut (reuse the topological order, recompute half) must give exactly
    the heads, tails and makespan of a fresh pass over the graph without the operation."""
    jobs = random_instance(400 + seed, n_jobs=9, n_machines=4)
    ops = flatten(jobs)
    search = TabuSearch(ops)
    mach, mp, ms, first = search._graph(dispatch(ops, urgency=0.0))
    n = len(ops)
    p = np.array([search.proc[v, mach[v]] for v in range(n)], np.int64)
    r, q, order, indeg, rank = (np.zeros(n, np.int64) for _ in range(5))
    kernel._heads_tails(p, search.jp, search.js, mp, ms, r, q, order, indeg, rank)
    assert (rank[order] == np.arange(n)).all()
    for v in range(n):
        g = [x.copy() for x in (mach, mp, ms, first)]
        pv = p.copy()
        kernel._unlink(v, *g)
        pv[v] = 0
        full_r, full_q, incr_r, incr_q = (np.zeros(n, np.int64) for _ in range(4))
        full = kernel._heads_tails(pv, search.jp, search.js, g[1], g[2], full_r, full_q,
                                   *(np.zeros(n, np.int64) for _ in range(3)))
        incr = kernel._without(pv, search.jp, search.js, g[1], g[2], r, q, incr_r, incr_q,
                               order, rank[v])
        assert incr == full
        assert (incr_r == full_r).all()
        assert (incr_q == full_q).all()


def test_wait_for_stall__returns_after_the_stall_or_at_once_at_the_bound() -> None:
    from matching.fjsp import _wait_for_stall

    board = Board(Assignment([1], [0], 10, 10))
    t0 = time.perf_counter()
    _wait_for_stall(board, t0 + 10.0, 0.3, lower=5)
    assert 0.3 <= time.perf_counter() - t0 < 2.0
    t0 = time.perf_counter()
    _wait_for_stall(board, t0 + 10.0, 5.0, lower=10)  # the incumbent already meets the bound
    assert time.perf_counter() - t0 < 0.5
