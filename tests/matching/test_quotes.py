"""Quotes under a tight max_factories: the factory-assignment search and what it buys."""

from __future__ import annotations

import gc
import itertools
import random

import pytest

from domain.model import Factory, OrderStatus, Plan, SolverInfo
from matching import factory_sets
from matching.build import build_problem
from matching.engine import quote, solve
from matching.factory_sets import best_assignments, problem_assignments
from matching.greedy import greedy
from matching.plan import to_plan
from tests.matching.builders import factory, order, resource, scenario, step
from tests.matching.plan_checker import check_plan

_CHAIN = [("s1", ()), ("s2", ("s1",)), ("s3", ("s2",)), ("s4", ("s3",)), ("s5", ("s4",))]


def _brute_force(cost: dict[str, dict[str, float]], most: int) -> float:
    """Cheapest assignment by trying every one (no trucks): the independent yardstick."""
    steps = list(cost)
    best = float("inf")
    for combo in itertools.product(*(list(cost[s].items()) for s in steps)):
        if len({f for f, _ in combo}) <= most:
            best = min(best, sum(c for _, c in combo))
    return best


def test_best_assignments__matches_brute_force_without_trucks() -> None:
    rng = random.Random(5)
    for _ in range(20):
        factories = [f"F{i}" for i in range(7)]
        cost = {s: {f: float(rng.randint(10, 99)) for f in factories if rng.random() < 0.6}
                or {"F0": 50.0} for s, _ in _CHAIN}
        found = best_assignments(_CHAIN, cost, lambda f, g: 0.0, 2)
        assert found, "a layout within 2 factories exists whenever one factory can be reused"
        total, where = found[0]
        assert len(set(where.values())) <= 2
        assert total == sum(cost[s][where[s]] for s, _ in _CHAIN)
        assert total == _brute_force(cost, 2)


def test_best_assignments__prices_trucks_and_ranks_cheapest_first() -> None:
    cost = {s: {"A": 10.0, "B": 12.0, "C": 11.0} for s, _ in _CHAIN}
    far = {frozenset("AB"): 5.0, frozenset("AC"): 50.0, frozenset("BC"): 50.0}
    found = best_assignments(_CHAIN, cost, lambda f, g: far[frozenset(f + g)], 2, top=10)
    totals = [t for t, _ in found]
    assert totals == sorted(totals)
    assert len({tuple(w[s] for s, _ in _CHAIN) for _, w in found}) == len(found)
    for total, where in found:
        trucks = sum(0.0 if where[a] == where[s] else far[frozenset(where[a] + where[s])]
                     for s, after in _CHAIN for a in after)
        assert total == sum(cost[s][where[s]] for s, _ in _CHAIN) + trucks
    assert found[0][0] == 50.0  # all five steps in A, no truck


def _brute_force_with_trucks(cost: dict[str, dict[str, float]], leg: dict[frozenset[str], float],
                             most: int) -> float:
    """Cheapest assignment with the trucks along the chain, by trying every one."""
    steps = list(cost)
    best = float("inf")
    for combo in itertools.product(*(list(cost[s].items()) for s in steps)):
        if len({f for f, _ in combo}) <= most:
            trucks = sum(leg[frozenset((combo[i][0], combo[i + 1][0]))]
                         for i in range(len(steps) - 1) if combo[i][0] != combo[i + 1][0])
            best = min(best, sum(c for _, c in combo) + trucks)
    return best


def test_best_assignments__exact_with_trucks_when_every_host_is_kept() -> None:
    rng = random.Random(11)
    factories = [f"F{i}" for i in range(6)]
    for _ in range(15):
        cost = {s: {f: float(rng.randint(10, 99)) for f in factories if rng.random() < 0.7}
                or {"F0": 50.0} for s, _ in _CHAIN}
        leg = {frozenset((f, g)): float(rng.randint(1, 60))
               for f, g in itertools.combinations(factories, 2)}
        found = best_assignments(_CHAIN, cost, lambda f, g, leg=leg: leg[frozenset((f, g))], 3,
                                 hosts_per_group=len(factories))
        assert found[0][0] == _brute_force_with_trucks(cost, leg, 3)


def test_best_assignments__a_dearer_host_that_saves_trucks_needs_more_hosts() -> None:
    """Steps 1 and 3 in H beside N (step 2): H is only the 5th cheapest host of {s1, s3},
    but the four cheaper ones are far from every factory running s2."""
    chain = _CHAIN[:3]
    cheap = [f"C{i}" for i in range(4)]
    cost = {"s1": {**dict.fromkeys(cheap, 10.0), "H": 14.0},
            "s2": {"N": 10.0},
            "s3": {**dict.fromkeys(cheap, 10.0), "H": 14.0}}
    near = {frozenset("HN"): 1.0}
    leg = lambda f, g: near.get(frozenset((f, g)), 40.0)  # noqa: E731
    few = best_assignments(chain, cost, leg, 2, hosts_per_group=4)
    more = best_assignments(chain, cost, leg, 2, hosts_per_group=12)
    assert more[0] == (40.0, {"s1": "H", "s2": "N", "s3": "H"})  # 14 + 10 + 14 + two trucks
    assert few[0][0] > more[0][0]


def _layouts(found: list[tuple[float, dict[str, str]]]) -> set[tuple[tuple[str, str], ...]]:
    return {tuple(sorted(where.items())) for _, where in found}


def test_problem_assignments__keeps_the_narrow_cut_beside_the_wide_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The wide search's cheapest layouts can all be far-flung hosts (the rough price knows
    no windows); the near ones of the narrow cut must still be judged (bench quote, 100,000
    resources, O6)."""
    rng = random.Random(3)
    procs = ["cutting.laser", "machining.cnc_milling", "machining.drilling"]
    market = [factory(f"F{p}-{i:02d}", resource(f"F{p}-{i:02d}-R", procs[p],
                                                rate=rng.randint(40, 90)),
                      lat=30.0 + rng.uniform(0, 0.3), lon=120.0 + rng.uniform(0, 0.3))
              for p in range(3) for i in range(16)]
    o = order("O1", *(step(f"s{p + 1}", procs[p], after=(f"s{p}",) if p else ())
                      for p in range(3)), quantity=60, max_factories=3)
    problem = build_problem(scenario(market, [o]), max_lots_per_step=1)
    facts = problem.orders[0]
    kept = _layouts(problem_assignments(problem, facts))
    monkeypatch.setattr(factory_sets, "QUOTE_HOSTS_PER_GROUP", factory_sets.HOSTS_PER_GROUP)
    narrow = _layouts(problem_assignments(problem, facts))
    monkeypatch.setattr(factory_sets, "QUOTE_HOSTS_PER_GROUP", 12)
    monkeypatch.setattr(factory_sets, "HOSTS_PER_GROUP", 12)
    wide = _layouts(problem_assignments(problem, facts))
    assert narrow - wide, "the case must be one where the wide search crowds the narrow out"
    assert kept == narrow | wide


def test_best_assignments__uncoverable_step_gives_nothing() -> None:
    cost: dict[str, dict[str, float]] = {s: {"A": 1.0} for s, _ in _CHAIN}
    cost["s3"] = {}
    assert best_assignments(_CHAIN, cost, lambda f, g: 0.0, 3) == []


def _hub_market() -> list[Factory]:
    """Four steps, max_factories 2. Per step, 40 cheap one-step decoys (50 CNY an hour) crowd
    the candidate lists; ten three-step factories cost 300 an hour; only the hubs H1 (s1, s2)
    and H2 (s3, s4), 60 an hour and 1.4 km apart, make a cheap plan within two factories."""
    procs = ["cutting.laser", "machining.cnc_milling", "machining.drilling", "inspection.cmm"]
    out = [factory(f"D{p}-{i:02d}", resource(f"D{p}-{i:02d}-R", procs[p], rate=50),
                   lat=30.0 + 0.01 * i, lon=120.0 + 0.02 * p)
           for p in range(4) for i in range(40)]
    out += [factory(f"E{i}", *(resource(f"E{i}-R{p}", procs[p], rate=300) for p in range(3)),
                    lat=30.2, lon=120.2) for i in range(10)]
    out += [factory("H1", *(resource(f"H1-R{p}", procs[p], rate=60) for p in (0, 1)),
                    lat=30.5, lon=120.5),
            factory("H2", *(resource(f"H2-R{p}", procs[p], rate=60) for p in (2, 3)),
                    lat=30.51, lon=120.5)]
    return out


def test_quote__tight_max_factories_finds_the_cheap_hubs() -> None:
    procs = ["cutting.laser", "machining.cnc_milling", "machining.drilling", "inspection.cmm"]
    o = order("O1", *(step(f"s{p + 1}", procs[p], after=(f"s{p}",) if p else ())
                      for p in range(4)), quantity=60, due_h=40, max_factories=2)
    s = scenario(_hub_market(), [o])
    quotes = quote(s, "O1")
    for q in quotes:
        assert not check_plan(s, Plan((q.plan,), SolverInfo("FEASIBLE")))
    cheapest = quotes[0]
    assert cheapest.plan.status is OrderStatus.PLANNED
    # Four one-hour lots at 60 CNY an hour, plus one truck of under 2 km at 3 CNY a km.
    assert cheapest.cost_breakdown["total"] <= 4 * 60 + 6
    greedy = solve(s, policy="greedy").order("O1")
    assert greedy.status is OrderStatus.PLANNED



def test_greedy_split_early__fills_idle_time_before_a_late_whole_lot() -> None:
    # 200 one-minute pieces; the first window (2 h) is too short for the whole lot, the next
    # one opens a day later. Splitting uses the first window and finishes a day-lot earlier.
    r = resource("M", windows=((0, 2), (24, 30)))
    s = scenario([factory("F1", r)], [order("O1", step("s1"), quantity=200, min_lot=20)])
    problem = build_problem(s, max_lots_per_step=3)
    whole = greedy(problem, cheapest_first=True)
    split = greedy(problem, cheapest_first=True, split_early=True)
    assert sum(x.quantity for x in split.lots) == 200
    assert all(x.quantity >= 20 for x in split.lots)
    assert max(x.end_min for x in split.lots) < max(x.end_min for x in whole.lots)
    assert min(x.start_min for x in split.lots) < 24 * 60  # it used the first window
    plan = to_plan(s, split)
    assert not check_plan(s, plan, max_lots=3)


def test_quote__leaves_the_garbage_collector_as_it_found_it() -> None:
    s = scenario([factory("F1", resource("M"))], [order("O1", step("s1"), quantity=10)])
    assert gc.isenabled()
    assert quote(s, "O1")[0].plan.status is OrderStatus.PLANNED
    assert gc.isenabled()
    gc.disable()
    try:
        quote(s, "O1")
        assert not gc.isenabled()  # a caller's choice to run without it is kept
    finally:
        gc.enable()
