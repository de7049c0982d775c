"""judge: a lot past its booked end, or at a pace that finishes it too late, overruns."""

from __future__ import annotations

from scheduling.overrun import LotProgress, judge

# A 100-piece lot booked over [0, 1000) s: the booked pace is 0.1 piece/s.
LOT = LotProgress(start=0, end=1000, quantity=100)


def _at(done: int, scrap: int = 0) -> LotProgress:
    return LotProgress(LOT.start, LOT.end, LOT.quantity, done, scrap)


def test_judge__on_pace_is_no_overrun() -> None:
    assert judge(_at(50), now=500, grace=60, input_on_hand=True) is None


def test_judge__slow_pace_projects_a_late_finish_and_what_it_makes_by_the_end() -> None:
    verdict = judge(_at(20, 5), now=500, grace=60, input_on_hand=True)  # 0.05 piece/s
    assert verdict is not None
    assert not verdict.past_end
    assert verdict.projected_end == 500 + 1500
    assert verdict.late_by(LOT.end) == 1000
    assert verdict.through_by_end == 25 + 25  # 500 s more at 0.05/s
    assert verdict.good_by_end == 20 + 20  # the scrap share so far: 1 in 5


def test_judge__a_little_late_is_within_the_grace() -> None:
    assert judge(_at(45), now=500, grace=200, input_on_hand=True) is None  # ends at 1111


def test_judge__waiting_for_input_is_not_judged_by_pace() -> None:
    assert judge(_at(10), now=500, grace=60, input_on_hand=False) is None


def test_judge__not_begun_long_after_its_start_overruns() -> None:
    verdict = judge(_at(0), now=300, grace=60, input_on_hand=True)
    assert verdict is not None
    assert verdict.projected_end == 1300
    assert verdict.through_by_end == 70


def test_judge__still_running_past_the_end_and_grace_overruns_whatever_the_input() -> None:
    verdict = judge(_at(80), now=1100, grace=60, input_on_hand=False)
    assert verdict is not None
    assert verdict.past_end
    assert (verdict.through_by_end, verdict.good_by_end) == (80, 80)
    assert judge(_at(80), now=1050, grace=60, input_on_hand=False) is None


def test_judge__a_finished_lot_never_overruns() -> None:
    assert judge(_at(95, 5), now=5000, grace=60, input_on_hand=True) is None


def test_judge__time_waiting_for_the_truck_is_not_slowness() -> None:
    # Input at the door at 400 s; 60 pieces by 700 s is 0.2 piece/s: done at 900 s. Timed
    # from the booked start it would look like 1167 s, past the grace.
    lot = LotProgress(start=0, end=1000, quantity=100, done=60, ready=400)
    assert judge(lot, now=700, grace=100, input_on_hand=True) is None
    assert judge(LotProgress(0, 1000, 100, 60), now=700, grace=100, input_on_hand=True)
