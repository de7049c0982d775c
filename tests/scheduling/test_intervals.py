"""Free-interval algebra and conflict checks (pure functions)."""

from __future__ import annotations

from scheduling.conflicts import lot_conflict, over_capacity
from scheduling.intervals import (
    contains,
    earliest_fit,
    gaps,
    max_overlap,
    normalize,
    subtract,
)


def test_normalize__merges_touching_and_overlapping() -> None:
    assert normalize([(5, 8), (0, 2), (2, 4), (7, 9), (3, 3)]) == [(0, 4), (5, 9)]


def test_subtract__windows_minus_bookings_gives_free_intervals() -> None:
    free = subtract([(0, 100), (200, 300)], [(50, 60), (90, 210), (250, 260)])
    assert free == [(0, 50), (60, 90), (210, 250), (260, 300)]


def test_subtract__booking_covering_a_window_leaves_nothing() -> None:
    assert subtract([(10, 20)], [(0, 30)]) == []


def test_gaps__holes_between_windows() -> None:
    assert gaps([(0, 10), (20, 30), (30, 40)]) == [(10, 20)]


def test_contains__lot_inside_one_interval_only() -> None:
    assert contains([(0, 10), (10, 20)], 2, 8)
    assert not contains([(0, 10), (10, 20)], 5, 15)  # spans two windows


def test_earliest_fit__skips_busy_and_short_intervals() -> None:
    assert earliest_fit([(0, 10), (20, 100)], [(20, 30)], 1, 15, 0) == 30


def test_earliest_fit__service_line_fits_beside_one_lot_not_two() -> None:
    busy = [(10, 20), (12, 40)]
    assert earliest_fit([(0, 100)], busy, 2, 15, 0) == 20
    assert earliest_fit([(0, 100)], busy[:1], 2, 15, 0) == 0


def test_earliest_fit__none_when_nothing_is_long_enough() -> None:
    assert earliest_fit([(0, 10)], [], 1, 11, 0) is None


def test_max_overlap__touching_intervals_do_not_clash() -> None:
    assert max_overlap([(0, 10), (10, 20)]) == 1
    assert max_overlap([(0, 10), (5, 20), (6, 7)]) == 3


def test_lot_conflict__allowed_inside_window_forbidden_over_booking() -> None:
    assert lot_conflict([(0, 60)], [], 1, (10, 20)) is None
    assert "more than 1" in (lot_conflict([(0, 60)], [(15, 30)], 1, (10, 20)) or "")
    assert "window" in (lot_conflict([(0, 60)], [], 1, (50, 70)) or "")
    assert over_capacity([(0, 10), (5, 15)], 1)
    assert not over_capacity([(0, 10), (5, 15)], 2)
