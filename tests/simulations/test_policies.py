"""The three policies at the boundary to the engine."""

from __future__ import annotations

import dataclasses

import pytest

from domain.model import Booking, Objective, OrderStatus, Scenario
from matching.engine import SolveOptions
from simulations.policies import (
    SinglePolicy,
    booked_share,
    capable,
    congestion_priced,
    make_policy,
    with_margin,
)
from tests.simulations.builders import T0, ScriptedSolver, at, factory, order, resource

LASER = "cutting.laser"
MILL = "machining.cnc_milling"
OPTS = SolveOptions(workers=1, deterministic_time_s=0.2)


def scenario(*factories, orders=()):
    return Scenario(horizon_start=T0, factories=tuple(factories), orders=tuple(orders))


def test_capable__needs_every_step_in_one_factory():
    both = factory("F1", [resource("F1-L", LASER, [(0, 600)]), resource("F1-M", MILL, [(0, 600)])])
    laser_only = factory("F2", [resource("F2-L", LASER, [(0, 600)])])
    o = order("O1", [LASER, MILL])
    s = scenario(both, laser_only, orders=[o])
    assert capable(o, s, "F1")
    assert not capable(o, s, "F2")


def test_single__asks_only_capable_factories_one_at_a_time():
    both = factory("F1", [resource("F1-L", LASER, [(0, 600)]), resource("F1-M", MILL, [(0, 600)])])
    laser_only = factory("F2", [resource("F2-L", LASER, [(0, 600)])])
    o = order("O1", [LASER, MILL])
    solver = ScriptedSolver({"O1": [("s1", "F1", "F1-L", 10, 0, 60),
                                    ("s2", "F1", "F1-M", 10, 60, 120)]})
    plan = SinglePolicy(options=OPTS, solver=solver).plan(scenario(both, laser_only, orders=[o]),
                                                          "O1")
    assert plan.status is OrderStatus.PLANNED
    (seen,) = solver.seen
    assert [f.id for f in seen.factories] == ["F1"]
    assert seen.orders[0].max_factories == 1


def test_single__no_capable_factory_is_unmatched_with_a_reason():
    laser_only = factory("F2", [resource("F2-L", LASER, [(0, 600)])])
    mill_only = factory("F3", [resource("F3-M", MILL, [(0, 600)])])
    o = order("O1", [LASER, MILL])
    solver = ScriptedSolver({})
    plan = SinglePolicy(options=OPTS, solver=solver).plan(
        scenario(laser_only, mill_only, orders=[o]), "O1")
    assert plan.status is OrderStatus.UNMATCHED
    assert plan.reason == "no single factory can do every step"
    assert solver.seen == []


def test_single__real_engine_refuses_what_cpsat_splits():
    laser = factory("F2", [resource("F2-L", LASER, [(0, 600)])])
    mill = factory("F3", [resource("F3-M", MILL, [(0, 600)])], lat=29.9)
    s = scenario(laser, mill, orders=[order("O1", [LASER, MILL])])
    assert make_policy("single", OPTS).plan(s, "O1").status is OrderStatus.UNMATCHED
    split = make_policy("cpsat", OPTS).plan(s, "O1")
    assert split.status is OrderStatus.PLANNED
    assert {a.factory for a in split.allocations} == {"F2", "F3"}


def test_make_policy__unknown_name():
    with pytest.raises(ValueError, match="unknown policy 'magic'"):
        make_policy("magic", OPTS)


def test_with_margin__plans_against_an_earlier_due_in_whole_minutes():
    o = order("O1", [LASER], due_min=1001)
    past = order("O2", [LASER], due_min=-30)
    asked = with_margin(scenario(orders=[o, past]), 0.2)
    assert asked.orders[0].due == at(1001 - 200)  # 200.2 min rounded to whole minutes
    assert asked.orders[1].due == past.due  # already due: nothing to keep a margin in
    assert with_margin(scenario(orders=[o]), 0.0).orders[0] is o


def test_engine_policy__hands_the_engine_the_margin_but_answers_for_the_customer_order():
    f = factory("F1", [resource("F1-L", LASER, [(0, 600)])])
    o = order("O1", [LASER], due_min=1000)
    solver = ScriptedSolver({"O1": [("s1", "F1", "F1-L", 10, 0, 60)]})
    policy = make_policy("cpsat", OPTS, solver, due_margin=0.5)
    plan = policy.plan(scenario(f, orders=[o]), "O1")
    assert plan.status is OrderStatus.PLANNED
    (seen,) = solver.seen
    assert seen.orders[0].due == at(500)


def test_booked_share__counts_bookings_against_capacity_up_to_the_latest_due():
    line = resource("F1-L", LASER, [(0, 600), (700, 900)], capacity=2)
    mill = resource("F1-M", MILL, [(0, 400)])
    # offered up to the due (minute 800): line 2 x (600 + 100) + mill 400 = 1800 slot-minutes
    booked = (Booking(id="b1", resource="F1-L", start=at(100), end=at(400)),
              Booking(id="b2", resource="F1-M", start=at(300), end=at(1000)),
              Booking(id="gone", resource="F9-X", start=at(0), end=at(600)))
    s = Scenario(horizon_start=T0, factories=(factory("F1", [line, mill]),),
                 orders=(order("O1", [LASER], due_min=800),), bookings=booked)
    assert booked_share(s) == pytest.approx((300 + 500) / 1800)
    assert booked_share(dataclasses.replace(s, bookings=())) == 0.0


def test_congestion_priced__raises_the_makespan_price_with_the_booked_share():
    line = resource("F1-L", LASER, [(0, 1000)])
    half = Scenario(horizon_start=T0, factories=(factory("F1", [line]),),
                    orders=(order("O1", [LASER], due_min=1000),),
                    bookings=(Booking(id="b1", resource="F1-L", start=at(0), end=at(500)),),
                    objective=Objective(makespan_per_hour=2.0))
    assert congestion_priced(half, 20.0).objective.makespan_per_hour == pytest.approx(12.0)
    quiet = dataclasses.replace(half, bookings=())
    assert congestion_priced(quiet, 20.0).objective.makespan_per_hour == pytest.approx(2.0)
    assert congestion_priced(half, 0.0) is half
