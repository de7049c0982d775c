"""Conflict checks as pure functions: does a new lot clash with what a resource already holds?"""

from __future__ import annotations

from collections.abc import Sequence

from scheduling.intervals import Interval, contains, fits_capacity, max_overlap


def lot_conflict(
    windows: Sequence[Interval],
    busy: Sequence[Interval],
    capacity: int,
    lot: Interval,
) -> str | None:
    """Why ``lot`` cannot go on the resource, or None when it fits."""
    start, end = lot
    if end <= start:
        return f"lot [{start}, {end}) is empty"
    if not contains(windows, start, end):
        return f"lot [{start}, {end}) is not inside one published window"
    if not fits_capacity(busy, capacity, start, end):
        return f"lot [{start}, {end}) would run more than {capacity} lots at once"
    return None


def over_capacity(intervals: Sequence[Interval], capacity: int) -> bool:
    """True when some instant has more than ``capacity`` of ``intervals`` running."""
    return max_overlap(intervals) > capacity
