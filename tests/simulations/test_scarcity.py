"""The scarcity price (solver.scarcity_markup): what it charges, and the plan it changes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from domain.model import Booking, Order, OrderPlan, OrderStatus, Plan, Pricing, Scenario
from matching.engine import SolveOptions, solve
from matching.lots import lot_price
from simulations.config import ConfigError, parse_config, read_raw, with_params
from simulations.generator import Market, generate
from simulations.market_state import BookedLot
from simulations.policies import (
    EnginePolicy,
    at_market_prices,
    booked_share,
    make_policy,
    relative_shares,
    scarcity_priced,
    sold_shares,
    sold_time,
)
from simulations.runner import run_policies
from tests.simulations.builders import T0, at, factory, order, resource

MILL = "machining.cnc_milling"
OPTS = SolveOptions(workers=1, deterministic_time_s=0.2)
DAY = 24 * 60


def market(booked_until: int, *, cheap_rate: float = 60.0) -> Scenario:
    """A cheap mill (F1-A, 60 CNY/h) sold from minute 0 to ``booked_until``, a dear one
    (F2-B, 100 CNY/h) with nothing sold; one order of an hour's milling due in a day."""
    cheap = resource("F1-A", MILL, [(0, DAY)], rate=cheap_rate)
    dear = resource("F2-B", MILL, [(0, DAY)], rate=100.0)
    sold = (Booking(id="b1", resource="F1-A", start=at(0), end=at(booked_until)),)
    return Scenario(horizon_start=T0, factories=(factory("F1", [cheap]), factory("F2", [dear])),
                    orders=(order("O1", [MILL], quantity=10, due_min=DAY),),
                    bookings=sold if booked_until else ())


def price_of(scenario: Scenario, rid: str) -> Pricing:
    return next(r.pricing for f in scenario.factories for r in f.resources if r.id == rid)


def test_scarcity_priced__is_nothing_when_off_or_nothing_is_sold():
    half = market(DAY // 2)
    assert scarcity_priced(half, 0.0) is half
    quiet = market(0)
    assert sold_shares(quiet) == {}
    assert scarcity_priced(quiet, 1.0) is quiet


def test_scarcity_priced__grows_with_the_share_sold_and_leaves_unsold_resources_alone():
    quarter, half = market(DAY // 4), market(DAY // 2)
    assert sold_shares(quarter) == {"F1-A": pytest.approx(0.25)}
    assert sold_shares(half) == {"F1-A": pytest.approx(0.5)}
    # 60 CNY/h times 1 + markup x share sold
    assert price_of(scarcity_priced(quarter, 1.0), "F1-A").time_share_per_hour == pytest.approx(
        75.0)
    assert price_of(scarcity_priced(half, 1.0), "F1-A").time_share_per_hour == pytest.approx(90.0)
    assert price_of(scarcity_priced(half, 2.0), "F1-A").time_share_per_hour == pytest.approx(
        120.0)
    assert price_of(scarcity_priced(half, 2.0), "F2-B") == price_of(half, "F2-B")


def test_scarcity_priced__relative_marks_up_only_the_share_above_the_process_mean():
    half = market(DAY // 2)  # F1-A half sold, F2-B (same process) unsold: mean 0.25
    assert relative_shares(half) == {"F1-A": pytest.approx(0.25)}
    assert relative_shares(market(0)) == {}
    priced = scarcity_priced(half, 1.0, relative=True)
    assert price_of(priced, "F1-A").time_share_per_hour == pytest.approx(60.0 * 1.25)
    assert price_of(priced, "F2-B") == price_of(half, "F2-B")
    # both sold alike: nothing above the mean, nothing marked up
    also = Booking(id="b2", resource="F2-B", start=at(0), end=at(DAY // 2))
    both = dataclasses.replace(half, bookings=(*half.bookings, also))
    assert relative_shares(both) == {}
    assert scarcity_priced(both, 1.0, relative=True) is both
    assert scarcity_priced(both, 1.0) is not both
    cpsat = make_policy("cpsat", OPTS, scarcity_markup=1.0, scarcity_relative=True)
    greedy = make_policy("greedy", OPTS, scarcity_markup=1.0, scarcity_relative=True)
    assert isinstance(cpsat, EnginePolicy)
    assert isinstance(greedy, EnginePolicy)
    assert (cpsat.scarcity_relative, greedy.scarcity_relative) == (True, False)


def test_scarcity_priced__marks_up_every_mode_offered_and_counts_capacity():
    line = dataclasses.replace(resource("F1-L", MILL, [(0, 1000)], capacity=2),
                               pricing=Pricing(time_share_per_hour=50.0, per_piece=2.0,
                                               by_value_pct=5.0))
    # one of the line's two slots booked for half its window: a quarter of its capacity sold
    s = Scenario(horizon_start=T0, factories=(factory("F1", [line]),),
                 orders=(order("O1", [MILL], due_min=1000),),
                 bookings=(Booking(id="b1", resource="F1-L", start=at(0), end=at(500)),))
    assert sold_shares(s) == {"F1-L": pytest.approx(0.25)}
    p = price_of(scarcity_priced(s, 2.0), "F1-L")
    assert (p.time_share_per_hour, p.per_piece, p.by_value_pct) == pytest.approx((75.0, 3.0, 7.5))


def test_at_market_prices__bills_the_market_price_not_the_markup():
    half = market(DAY // 2)
    # markup 0.5: the cheap mill is planned at 75 CNY/h, still below the dear one's 100
    plan = make_policy("cpsat", OPTS, scarcity_markup=0.5).plan(half, "O1")
    assert plan.status is OrderStatus.PLANNED
    assert {a.resource for a in plan.allocations} == {"F1-A"}
    assert plan.total_cost == pytest.approx(60.0)  # an hour at 60 CNY/h, not 75
    assert at_market_prices(plan, half) == plan
    unplanned = OrderPlan(id="O1", status=OrderStatus.UNMATCHED, reason="none")
    assert at_market_prices(unplanned, half) is unplanned


def _book(scenario: Scenario, plan: OrderPlan) -> tuple[Booking, ...]:
    return scenario.bookings + tuple(
        Booking(id=f"{plan.id}-{i}", resource=a.resource, start=a.start, end=a.end,
                order=plan.id, step=a.step, quantity=a.quantity)
        for i, a in enumerate(plan.allocations))


@pytest.mark.parametrize("markup", [0.0, 2.0])
def test_scarcity_markup__leaves_the_scarce_mill_to_the_order_that_needs_it(markup):
    """The cheap mill is half sold. O1 could run on either mill, and the cheap one is cheaper
    now; O2, arriving next, can only run on the cheap mill and needs all of its time left. The
    cheapest plan for O1 leaves O2 without capacity; priced by scarcity, O1 takes the dear mill
    and both are planned."""
    first = market(DAY // 2)
    policy = make_policy("cpsat", OPTS, scarcity_markup=markup)
    o1 = policy.plan(first, "O1")
    assert o1.status is OrderStatus.PLANNED
    o2 = order("O2", [MILL], quantity=DAY // 2 // 6, due_min=DAY)  # 720 min at 6 min a piece
    o2 = dataclasses.replace(o2, steps=tuple(dataclasses.replace(s, only_on=("F1-A",))
                                             for s in o2.steps))
    second = dataclasses.replace(first, orders=(o2,), bookings=_book(first, o1))
    p2 = policy.plan(second, "O2")
    if markup == 0.0:
        assert {a.resource for a in o1.allocations} == {"F1-A"}
        assert p2.status is OrderStatus.UNMATCHED
    else:
        assert {a.resource for a in o1.allocations} == {"F2-B"}
        assert o1.total_cost == pytest.approx(100.0)
        assert p2.status is OrderStatus.PLANNED
        assert p2.lateness_min == 0


def test_scarcity_markup__is_the_platform_engines_only():
    cpsat = make_policy("cpsat", OPTS, scarcity_markup=1.5)
    greedy = make_policy("greedy", OPTS, scarcity_markup=1.5)
    assert isinstance(cpsat, EnginePolicy)
    assert isinstance(greedy, EnginePolicy)
    assert (cpsat.scarcity_markup, greedy.scarcity_markup) == (1.5, 0.0)


EXAMPLE = Path(__file__).resolve().parents[2] / "simulations" / "examples" / "market.yaml"


def test_config__scarcity_markup_defaults_off_reaches_the_runner_and_refuses_bad_values():
    raw = read_raw(EXAMPLE)
    assert parse_config(with_params(raw, {"solver.scarcity_markup": 0})).solver.scarcity_markup \
        == 0.0
    base = dict(raw)
    base["solver"] = {k: v for k, v in raw["solver"].items() if k != "scarcity_markup"}
    assert parse_config(base).solver.scarcity_markup == 0.0
    assert parse_config(base).solver.scarcity_relative is False
    assert parse_config(with_params(raw, {"solver.scarcity_relative": True})
                        ).solver.scarcity_relative is True
    for bad in (-0.1, 10.5, "a lot"):
        with pytest.raises(ConfigError, match=r"solver\.scarcity_markup"):
            parse_config(with_params(raw, {"solver.scarcity_markup": bad}))
    # the runner hands the setting to the cpsat policy: some snapshot is planned above the
    # market's own prices, and every booked lot is billed at them
    seen: list[Scenario] = []

    def recording(scenario: Scenario, **kw: Any) -> Plan:
        seen.append(scenario)
        return solve(scenario, **kw)

    cfg = parse_config(with_params(raw, {"solver.scarcity_markup": 3.0, "days": 1,
                                         "factories": 8, "orders_per_day": 10,
                                         "solver.deterministic_time_s": 0.01}))
    mkt = generate(cfg)
    own = {r.id: r.pricing for f in mkt.factories for r in f.resources}
    (run,) = run_policies(cfg, ["cpsat"], solver=recording, market=mkt)
    assert any(r.pricing != own[r.id] for s in seen for f in s.factories for r in f.resources)
    lots = [lot for o in run.result.orders for lot in o.active_lots()]
    assert lots
    for o in run.result.orders:
        for lot in o.active_lots():
            assert lot.cost == pytest.approx(_billed(mkt, o.order, lot), abs=0.01)


def _billed(mkt: Market, o: Order, lot: BookedLot) -> float:
    r = next(r for f in mkt.factories for r in f.resources if r.id == lot.resource)
    step = o.step(lot.step)
    price = lot_price(o, r, step, lot.quantity)
    assert price is not None
    return round(price[1], 2)


def test_sold_time__one_pass_gives_the_market_share_and_each_resources():
    """The congestion price (market-wide) and the scarcity price (per resource) read one pass;
    a booking on a resource with no window in the span counts in the market's held time only
    (a lot running late outside its machine's windows)."""
    half = market(DAY // 2)
    late = resource("F3-C", MILL, [(2 * DAY, 3 * DAY)], rate=80.0)
    scenario = dataclasses.replace(
        half, factories=(*half.factories, factory("F3", [late])),
        bookings=(*half.bookings, Booking(id="b2", resource="F3-C", start=at(0), end=at(60))))
    sold = sold_time(scenario)
    assert sold.offered == {"F1-A": DAY * 60.0, "F2-B": DAY * 60.0}
    assert sold.held == {"F1-A": DAY / 2 * 60.0}
    assert sold.held_total == (DAY / 2 + 60) * 60.0
    assert booked_share(scenario) == pytest.approx((DAY / 2 + 60) / (2 * DAY))
    assert booked_share(scenario, sold) == booked_share(scenario)
    assert sold_shares(scenario, sold) == sold_shares(scenario) == {"F1-A": pytest.approx(0.5)}
