"""Timelines of tiny hand-built markets (SimPy style: assert the whole event log).

Most use the scripted solver so the test pins the simulation's behaviour, not the engine's
choices; the last one runs the real matching engine on a market with only one possible plan.
"""

from __future__ import annotations

from matching.engine import SolveOptions
from simulations.des import simulate
from simulations.generator import Outage
from simulations.policies import make_policy
from tests.simulations.builders import ScriptedSolver, factory, market, order, resource

OPTS = SolveOptions(workers=1, deterministic_time_s=0.5)

LASER = "cutting.laser"
MILL = "machining.cnc_milling"


def two_factories():
    f1 = factory("F1", [resource("F1-L1", LASER, [(480, 1200)])])
    f2 = factory("F2", [resource("F2-M1", MILL, [(480, 1200)]),
                        resource("F2-M2", MILL, [(480, 1200)])], lat=29.9)
    return [f1, f2]


def run(script, arrivals, *, outages=None, batch_min=0, factories=None):
    solver = ScriptedSolver(script)
    m = market(factories or two_factories(), arrivals, outages=outages)
    result = simulate(m, make_policy("cpsat", OPTS, solver), batch_min=batch_min)
    return result, solver


def test_timeline__lots_travel_between_factories():
    o1 = order("O1", [LASER, MILL])
    result, _ = run({"O1": [("s1", "F1", "F1-L1", 10, 480, 540),
                            ("s2", "F2", "F2-M1", 10, 600, 660)]}, [(60, o1)])
    # 14.5 km road: 30 min handling + ceil(14.5 / 40 km/h * 60) = 52 min on the truck.
    assert result.log == [
        (60, "O1 arrives"),
        (60, "O1 planned: 2 lots at F1,F2, cost 120.00"),
        (480, "O1.s1.L1 starts on F1-L1"),
        (540, "O1.s1.L1 done on F1-L1"),
        (540, "O1.s1 ships F1->F2 (14.5 km)"),
        (592, "O1.s1 arrives at F2"),
        (600, "O1.s2.L2 starts on F2-M1"),
        (660, "O1.s2.L2 done on F2-M1"),
        (660, "O1 completed on time (780 min early)"),
    ]
    (run_,) = result.orders
    assert run_.cost_cny() == 120.0 + 43.5  # two lots plus one truck of 14.5 km at 3 CNY/km


def test_timeline__late_input_delays_the_next_lot():
    o1 = order("O1", [LASER, MILL])
    # The plan leaves no room for the truck: the milling lot waits for the parts to arrive.
    result, _ = run({"O1": [("s1", "F1", "F1-L1", 10, 480, 540),
                            ("s2", "F2", "F2-M1", 10, 545, 605)]}, [(0, o1)])
    assert (592, "O1.s2.L2 starts on F2-M1") in result.log
    assert result.log[-1] == (652, "O1 completed on time (788 min early)")


def test_timeline__breakdown_stops_and_resumes_a_running_lot():
    o1 = order("O1", [LASER, MILL])
    result, _ = run({"O1": [("s1", "F1", "F1-L1", 10, 480, 540),
                            ("s2", "F2", "F2-M1", 10, 600, 660)]}, [(60, o1)],
                    outages=[Outage("F1-L1", 500, 560)])
    assert result.log[2:9] == [
        (480, "O1.s1.L1 starts on F1-L1"),
        (500, "F1-L1 breaks down, repair takes 60 min"),
        (500, "O1.s1.L1 stops on F1-L1"),
        (560, "F1-L1 repaired"),
        (560, "O1.s1.L1 resumes on F1-L1"),
        (600, "O1.s1.L1 done on F1-L1"),  # 20 min before, 40 after the repair
        (600, "O1.s1 ships F1->F2 (14.5 km)"),
    ]
    assert result.log[-1] == (712, "O1 completed on time (728 min early)")
    busy = [(b.resource, b.start, b.end) for b in result.busy]
    assert ("F1-L1", 480, 500) in busy
    assert ("F1-L1", 560, 600) in busy


def test_timeline__breakdown_replans_unstarted_steps():
    o1 = order("O1", [LASER, MILL])
    script = {"O1": [("s1", "F1", "F1-L1", 10, 480, 540), ("s2", "F2", "F2-M1", 10, 600, 660)],
              # The residual order (step s2 only) moves to the twin machine.
              "O1.r1": [("s2", "F2", "F2-M2", 10, 600, 660)]}
    result, solver = run(script, [(60, o1)], outages=[Outage("F2-M1", 500, 800)])
    assert result.log == [
        (60, "O1 arrives"),
        (60, "O1 planned: 2 lots at F1,F2, cost 120.00"),
        (480, "O1.s1.L1 starts on F1-L1"),
        (500, "F2-M1 breaks down, repair takes 300 min"),
        (500, "O1 replanned: 1 steps, 1 lots at F2"),
        (540, "O1.s1.L1 done on F1-L1"),
        (540, "O1.s1 ships F1->F2 (14.5 km)"),
        (592, "O1.s1 arrives at F2"),
        (600, "O1.s2.L3 starts on F2-M2"),
        (660, "O1.s2.L3 done on F2-M2"),
        (660, "O1 completed on time (780 min early)"),
        (800, "F2-M1 repaired"),
    ]
    replan_scenario = solver.seen[-1]
    (residual,) = replan_scenario.orders
    assert [s.id for s in residual.steps] == ["s2"]
    assert residual.steps[0].after == ()
    # The broken machine offers nothing before its repair; the lot being moved is not booked.
    machines = {r.id: r for f in replan_scenario.factories for r in f.resources}
    assert all(w.start >= result.market.at(800) for w in machines["F2-M1"].windows)
    assert not any(b.id == "O1.s2.L2" for b in replan_scenario.bookings)
    (run_,) = result.orders
    assert run_.replans == 1
    assert run_.cost_cny() == 120.0 + 43.5  # the cancelled lot is not billed


def test_timeline__no_new_plan_means_waiting_for_the_repair():
    o1 = order("O1", [LASER, MILL])
    result, _ = run({"O1": [("s1", "F1", "F1-L1", 10, 480, 540),
                            ("s2", "F2", "F2-M1", 10, 600, 660)]}, [(60, o1)],
                    outages=[Outage("F2-M1", 500, 800)])
    assert (500, "O1 waits for F2-M1 repair (no new plan)") in result.log
    assert result.log[-3:] == [
        (800, "O1.s2.L2 starts on F2-M1"),
        (860, "O1.s2.L2 done on F2-M1"),
        (860, "O1 completed on time (580 min early)"),
    ]


def test_timeline__unmatched_order_is_logged_and_never_runs():
    result, _ = run({}, [(30, order("O9", [LASER]))])
    assert result.log == [(30, "O9 arrives"), (30, "O9 unmatched: scripted: no plan")]
    assert result.orders[0].status == "unmatched"


def test_timeline__a_late_order_is_reported_late():
    o1 = order("O1", [LASER], due_min=500)
    result, _ = run({"O1": [("s1", "F1", "F1-L1", 10, 480, 540)]}, [(0, o1)])
    assert result.log[-1] == (540, "O1 completed late by 40 min")


def test_timeline__a_plan_that_double_books_a_machine_is_refused():
    o1, o2 = order("O1", [LASER]), order("O2", [LASER])
    # A stale plan promises O2 the slot O1 holds: the booking commit (scheduling.book, as
    # the platform's accept) refuses it instead of selling the time twice.
    result, _ = run({"O1": [("s1", "F1", "F1-L1", 10, 480, 540)],
                     "O2": [("s1", "F1", "F1-L1", 10, 480, 540)]}, [(0, o1), (10, o2)])
    assert (10, "O2 unmatched: booking refused: the plan clashes") in result.log
    assert [e for e in result.log if "L1" in e[1]] == [
        (480, "O1.s1.L1 starts on F1-L1"),
        (540, "O1.s1.L1 done on F1-L1"),
    ]


def test_timeline__machine_is_first_come_first_served():
    o1, o2 = order("O1", [LASER]), order("O2", [LASER])
    # O1's lot is stopped 20 min by a breakdown and runs into O2's slot: O2 waits for it.
    result, _ = run({"O1": [("s1", "F1", "F1-L1", 10, 480, 540)],
                     "O2": [("s1", "F1", "F1-L1", 10, 540, 600)]}, [(0, o1), (10, o2)],
                    outages=[Outage("F1-L1", 500, 520)])
    assert [e for e in result.log if ".s1.L1" in e[1]] == [
        (480, "O1.s1.L1 starts on F1-L1"),
        (500, "O1.s1.L1 stops on F1-L1"),
        (520, "O1.s1.L1 resumes on F1-L1"),
        (560, "O1.s1.L1 done on F1-L1"),
        (560, "O2.s1.L1 starts on F1-L1"),
        (620, "O2.s1.L1 done on F1-L1"),
    ]


def test_timeline__batch_mode_plans_what_came_in_together():
    o1, o2 = order("O1", [LASER]), order("O2", [MILL])
    result, solver = run({"O1": [("s1", "F1", "F1-L1", 10, 480, 540)],
                          "O2": [("s1", "F2", "F2-M1", 10, 480, 540)]},
                         [(5, o1), (20, o2)], batch_min=30)
    assert result.log[:4] == [(5, "O1 arrives"), (20, "O2 arrives"),
                              (30, "O1 planned: 1 lots at F1, cost 60.00"),
                              (30, "O2 planned: 1 lots at F2, cost 60.00")]
    assert [o.id for o in solver.seen[0].orders] == ["O1", "O2"]


def test_timeline__real_engine_plans_the_only_possible_route():
    o1 = order("O1", [LASER, MILL])
    f1 = factory("F1", [resource("F1-L1", LASER, [(480, 1200)])])
    f2 = factory("F2", [resource("F2-M1", MILL, [(480, 1200)])], lat=29.9)
    m = market([f1, f2], [(60, o1)], makespan_per_hour=1.0)
    result = simulate(m, make_policy("cpsat", OPTS))
    # One laser, one mill: 60 min each (10 x 6 min, no setup), a 52 min truck in between, and
    # a makespan weight, so the earliest plan is the best one.
    assert [e for e in result.log if "planned" not in e[1]] == [
        (60, "O1 arrives"),
        (480, "O1.s1.L1 starts on F1-L1"),
        (540, "O1.s1.L1 done on F1-L1"),
        (540, "O1.s1 ships F1->F2 (14.5 km)"),
        (592, "O1.s1 arrives at F2"),
        (592, "O1.s2.L2 starts on F2-M1"),
        (652, "O1.s2.L2 done on F2-M1"),
        (652, "O1 completed on time (788 min early)"),
    ]
