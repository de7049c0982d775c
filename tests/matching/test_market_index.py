"""matching.market_index: the indexed candidate search builds the problem the exact one builds.

The exact path (``_Builder.order_exact``: every capable candidate scored in Python) is the
yardstick: on generated markets, with filters of every kind, live unavailability and
bookings, the indexed view must give an equal ``Problem`` and, with a repeatable budget, the
same quotes.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest

from bench.market_gen import generate
from domain.model import Booking, Order, Plan, PricingMode, Scenario, SolverInfo
from matching.build import build_problem
from matching.engine import SolveOptions, quote
from matching.market_index import IndexedScenario, MarketIndex, index_of
from tests.matching.plan_checker import check_plan


def _views(market: Scenario, order: Order, unavailable: frozenset[str] = frozenset(),
           ) -> tuple[Scenario, IndexedScenario]:
    """(the plain view, the indexed view) of ``order``, cut the way the API cuts it."""
    index = MarketIndex(market.factories)
    factories = index.factories_for({s.process for s in order.steps}, unavailable)
    offered = {r.id for f in factories for r in f.resources}
    plain = Scenario(market.horizon_start, factories, (order,), market.transport,
                     market.objective, tuple(b for b in market.bookings if b.resource in offered))
    return plain, index.view(plain, factories, unavailable)


def _variants(market: Scenario) -> list[Order]:
    """The market's orders and copies asking for each filter the index answers itself."""
    base = list(market.orders)
    o = base[0]
    return [*base,
            dataclasses.replace(o, id="parks", parks=("P1", "P3")),
            dataclasses.replace(o, id="certs", certifications=("IATF16949",)),
            dataclasses.replace(o, id="per-piece", pricing=PricingMode.PER_PIECE),
            dataclasses.replace(o, id="by-value", pricing=PricingMode.BY_VALUE),
            dataclasses.replace(o, id="no-value", value=0.0),
            dataclasses.replace(o, id="one-factory", max_factories=1),
            dataclasses.replace(o, id="no-material", material="titanium"),  # refused
            # the exact path's:
            dataclasses.replace(o, id="credit", min_credit=0.5),
            dataclasses.replace(o, id="only-on", steps=(dataclasses.replace(
                o.steps[0], only_on=tuple(r.id for f in market.factories[:40]
                                          for r in f.resources)), *o.steps[1:]))]


@pytest.mark.parametrize("seed", [3, 8])
def test_index__builds_the_exact_paths_problem(seed: int) -> None:
    market = generate(1_500, n_orders=4, seed=seed)
    rng = random.Random(seed)
    everyone = [r.id for f in market.factories for r in f.resources]
    down = frozenset(rng.sample(everyone, 60))
    for order in _variants(market):
        for unavailable in (frozenset(), down):
            plain, indexed = _views(market, order, unavailable)
            assert index_of(indexed) is not None
            for keep, layouts in ((32, True), (16, False), (3, True), (None, False)):
                want = build_problem(plain, keep_per_step=keep, layouts=layouts)
                got = build_problem(indexed, keep_per_step=keep, layouts=layouts)
                assert got == want, (order.id, keep, layouts, bool(unavailable))
                assert (order.id in got.refused) == (order.id == "no-material")
                used = {o.resource for of in got.orders for s in of.steps for o in s.options}
                assert not used & unavailable


def test_index__a_booked_slot_is_not_free_in_the_indexed_problem() -> None:
    """The index keeps no bookings: a booking added to the view after the index was built
    takes its time out of the resource's free intervals."""
    market = generate(600, n_orders=1, seed=4)
    order = market.orders[0]
    plain, indexed = _views(market, order)
    before = build_problem(indexed, keep_per_step=8, layouts=True)
    rid, facts = next((rid, f) for rid, f in before.resources.items()
                      if f.capacity == 1 and f.free)
    s, e = facts.free[0]
    origin = market.horizon_start
    booking = Booking("NEW", rid, origin + timedelta(minutes=s), origin + timedelta(minutes=e))
    booked = dataclasses.replace(indexed, bookings=(*indexed.bookings, booking))
    assert index_of(booked) is not None  # still the indexed path
    after = build_problem(booked, keep_per_step=8, layouts=True)
    assert after == build_problem(dataclasses.replace(plain, bookings=booked.bookings),
                                  keep_per_step=8, layouts=True)
    still = after.resources.get(rid)
    assert still is None or all(not (a < e and s < b) for a, b in still.free)


def test_index__quotes_equal_the_exact_paths() -> None:
    """Same problem, same repeatable search: the same three quotes, each a valid plan."""
    market = generate(1_000, n_orders=2, seed=6)
    options = SolveOptions(time_limit_s=30.0, workers=1, deterministic_time_s=0.2,
                           candidates_per_step=4)
    for order in market.orders:
        plain, indexed = _views(market, order)
        want = quote(plain, order.id, options=options)
        got = quote(indexed, order.id, options=options)
        assert got == want
        assert [q.kind for q in got] == ["cheapest", "fastest", "balanced"]
        for q in got:
            plan = Plan(orders=(q.plan,), solver=SolverInfo(status="FEASIBLE"))
            assert check_plan(plain, plan) == []


def test_index__a_copy_with_other_factories_is_built_the_exact_way() -> None:
    market = generate(300, n_orders=1, seed=2)
    _, indexed = _views(market, market.orders[0])
    fewer = dataclasses.replace(indexed, factories=indexed.factories[1:])
    assert index_of(fewer) is None
    problem = build_problem(fewer, keep_per_step=8, layouts=True)
    gone = {r.id for r in indexed.factories[0].resources}
    assert not gone & set(problem.resources)
