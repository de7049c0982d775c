"""The snapshot a policy sees: windows from now on, bookings, downtime, one factory."""

from __future__ import annotations

import dataclasses

from simulations.market_state import BookedLot, MarketState
from tests.simulations.builders import at, factory, market, order, resource

LASER = "cutting.laser"
MILL = "machining.cnc_milling"


def state():
    f1 = factory("F1", [resource("F1-L1", LASER, [(0, 600), (1440, 2040)]),
                        resource("F1-M1", MILL, [(0, 600)])])
    f2 = factory("F2", [resource("F2-L1", LASER, [(0, 600)])], lat=29.9)
    return MarketState(market([f1, f2], []))


def lot(lot_id, rid, start, end, factory_id="F1"):
    return BookedLot(id=lot_id, order="O0", step="s1", factory=factory_id, resource=rid,
                     quantity=5, planned_start=start, planned_end=end, cost=10.0)


def test_snapshot__windows_start_now_and_unused_processes_are_left_out():
    s = state().snapshot(order("O1", [LASER], due_min=1000), 300, lookahead_after_due_min=0)
    machines = {r.id: r for f in s.factories for r in f.resources}
    assert set(machines) == {"F1-L1", "F2-L1"}  # no mill: the order does not mill
    assert machines["F1-L1"].windows[0].start == at(300)
    assert machines["F1-L1"].windows[0].end == at(600)
    assert len(machines["F1-L1"].windows) == 1  # the next day is past due + lookahead
    assert s.horizon_start == at(300)


def test_snapshot__lookahead_reaches_later_windows():
    s = state().snapshot(order("O1", [LASER], due_min=1000), 0, lookahead_after_due_min=1440)
    machines = {r.id: r for f in s.factories for r in f.resources}
    assert len(machines["F1-L1"].windows) == 2


def test_snapshot__each_process_looks_only_as_far_as_the_orders_that_need_it():
    near_laser = order("O1", [LASER], due_min=1000)
    far_mill = order("O2", [MILL], due_min=3000)
    s = state().snapshot([near_laser, far_mill], 0, lookahead_after_due_min=0)
    machines = {r.id: r for f in s.factories for r in f.resources}
    # The batch reaches minute 3000, but no order needing the laser looks past minute 1000.
    assert len(machines["F1-L1"].windows) == 1
    assert "F1-M1" in machines
    both = state().snapshot([near_laser, order("O3", [LASER], due_min=3000)], 0,
                            lookahead_after_due_min=0)
    machines = {r.id: r for f in both.factories for r in f.resources}
    assert len(machines["F1-L1"].windows) == 2


def test_snapshot__booked_lots_become_bookings_unless_excluded():
    st = state()
    st.book(lot("O0.s1.L1", "F1-L1", 100, 200))
    st.book(lot("O0.s1.L2", "F2-L1", 100, 200, "F2"))
    s = st.snapshot(order("O1", [LASER]), 0, lookahead_after_due_min=0,
                    exclude=["O0.s1.L2"])
    assert [(b.id, b.resource, b.start, b.end) for b in s.bookings] == [
        ("O0.s1.L1", "F1-L1", at(100), at(200))]


def test_snapshot__a_late_unstarted_lot_is_booked_from_now_for_its_whole_run():
    st = state()
    st.book(lot("O0.s1.L1", "F1-L1", 100, 200))
    (b,) = st.snapshot(order("O1", [LASER]), 150, lookahead_after_due_min=0).bookings
    assert (b.start, b.end) == (at(150), at(250))


def test_snapshot__a_machine_down_offers_nothing_before_its_repair():
    st = state()
    st.machines["F1-L1"].down_until = 400
    s = st.snapshot(order("O1", [LASER]), 100, lookahead_after_due_min=0)
    machines = {r.id: r for f in s.factories for r in f.resources}
    assert machines["F1-L1"].windows[0].start == at(400)
    assert machines["F2-L1"].windows[0].start == at(100)


def test_snapshot__one_factory_only():
    s = state().snapshot(order("O1", [LASER]), 0, lookahead_after_due_min=0, factory="F2")
    assert [f.id for f in s.factories] == ["F2"]


def test_snapshot__material_must_fit():
    steel = dataclasses.replace(order("O1", [LASER]), material="steel45")
    s = state().snapshot(steel, 0, lookahead_after_due_min=0)
    assert s.factories == ()
