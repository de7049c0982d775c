"""The greedy planner's fast paths must answer exactly as the plain versions they replaced.

``reference_earliest_fit`` is the straightforward search (try every candidate start, check
capacity against every busy interval) and ``reference_room_for`` the set-cover check rebuilding
every factory set; the greedy plans only stay the same if both agree on every input.
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import cast

from matching.greedy import _Ledger, _room_for
from matching.problem import Option, OrderFacts, Problem, StepFacts
from matching.solution import Lot
from scheduling.intervals import (
    FitFinder,
    FreeTimes,
    Interval,
    earliest_fit,
    fits_capacity,
)


def reference_earliest_fit(free: list[Interval], busy: list[Interval], capacity: int,
                           duration_min: int, earliest: int) -> int | None:
    ends = sorted({e for _, e in busy})
    for fs, fe in free:
        lo = max(fs, earliest)
        if fe - lo < duration_min:
            continue
        for start in [lo] + [e for e in ends if lo < e <= fe - duration_min]:
            if fits_capacity(busy, capacity, start, start + duration_min):
                return start
    return None


def _intervals(rng: random.Random, n: int, *, sort: bool, empty_ok: bool) -> list[Interval]:
    out = []
    for _ in range(n):
        s = rng.randint(0, 300)
        out.append((s, s + rng.randint(0 if empty_ok else 1, 60)))
    return sorted(out) if sort else out


def _cases(seed: int, n: int) -> list[tuple[list[Interval], list[Interval], int]]:
    rng = random.Random(seed)
    cases = []
    for _ in range(n):
        free = _intervals(rng, rng.randint(0, 8), sort=rng.random() < 0.7, empty_ok=False)
        busy = _intervals(rng, rng.randint(0, 10), sort=False, empty_ok=True)
        busy += rng.sample(busy, k=min(len(busy), rng.randint(0, 2)))  # same booking twice
        cases.append((free, busy, rng.choice((1, 1, 2, 3))))
    return cases


def test_earliest_fit__matches_reference_on_random_resources() -> None:
    rng = random.Random(7)
    checked = 0
    for free, busy, capacity in _cases(seed=1, n=1500):
        for _ in range(4):
            d, t = rng.randint(0, 80), rng.randint(-10, 320)
            want = reference_earliest_fit(free, busy, capacity, d, t)
            assert earliest_fit(free, busy, capacity, d, t) == want, (free, busy, capacity, d, t)
            checked += want is not None
    assert checked > 500  # the inputs exercise successful fits, not only misses


def test_fit_finder__reused_across_probes_matches_reference() -> None:
    rng = random.Random(11)
    for free, busy, capacity in _cases(seed=2, n=400):
        finder = FitFinder(FreeTimes(free), busy, capacity)
        for _ in range(10):
            d, t = rng.randint(1, 80), rng.randint(0, 320)
            assert finder.earliest(d, t) == reference_earliest_fit(free, busy, capacity, d, t)


def test_free_times__unsorted_ends_fall_back_to_a_full_scan() -> None:
    assert FreeTimes([(0, 100), (10, 20)]).ends is None
    assert FreeTimes([(0, 10), (20, 30)]).ends == [10, 30]
    assert FreeTimes([(0, 10), (20, 60), (70, 80)]).longest_from == [40, 40, 10, 0]


def reference_room_for(order: OrderFacts, step: StepFacts, placed: dict[str, list[Lot]],
                       used: set[str]) -> bool:
    if len(used) > order.max_factories:
        return False
    todo = [s for s in order.steps if s.id not in placed and s.id != step.id
            and not any(o.factory in used for o in s.options)]
    slots = order.max_factories - len(used)
    while todo:
        if slots == 0:
            return False
        counts: dict[str, int] = {}
        for s in todo:
            for f in {o.factory for o in s.options}:
                counts[f] = counts.get(f, 0) + 1
        best = max(sorted(counts), key=lambda f: counts[f])
        todo = [s for s in todo if not any(o.factory == best for o in s.options)]
        slots -= 1
    return True


def test_room_for__matches_reference_set_cover_on_random_orders() -> None:
    rng = random.Random(5)
    names = [f"F{i}" for i in range(7)]
    ledger = _Ledger(cast(Problem, SimpleNamespace(resources={})))
    answers = set()
    for n in range(3000):
        steps = tuple(
            StepFacts(f"s{i}", "p", (), tuple(
                Option(f"{f}-R{k}", f, 0, 1, 1)
                for k, f in enumerate(rng.sample(names, rng.randint(1, 3)))))
            for i in range(rng.randint(1, 8)))
        order = OrderFacts(f"O{n}", 10, 1, rng.randint(1, 4), 0, steps)
        placed: dict[str, list[Lot]] = {s.id: [] for s in steps if rng.random() < 0.3}
        step = rng.choice(steps)
        used = set(rng.sample(names, rng.randint(0, 3)))
        want = reference_room_for(order, step, placed, used)
        assert _room_for(ledger, order, step, placed, frozenset(used)) == want
        answers.add(want)
    assert answers == {True, False}
