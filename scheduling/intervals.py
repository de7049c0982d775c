"""Free-interval algebra on integer minutes: windows minus bookings gives free intervals.

Every interval is half-open ``(start, end)`` with ``start < end``. These are pure functions on
sorted tuples, shared by the solver (to find where a lot may run), the greedy baseline (to find
the earliest slot) and the conflict checks (to refuse double booking).
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence

Interval = tuple[int, int]


def normalize(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals merged and empty ones dropped."""
    out: list[Interval] = []
    for s, e in sorted(i for i in intervals if i[1] > i[0]):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def subtract(windows: Iterable[Interval], busy: Iterable[Interval]) -> list[Interval]:
    """The parts of ``windows`` not covered by ``busy`` (windows minus bookings)."""
    free: list[Interval] = []
    blocks = normalize(busy)
    for ws, we in normalize(windows):
        cursor = ws
        for bs, be in blocks:
            if be <= cursor:
                continue
            if bs >= we:
                break
            if bs > cursor:
                free.append((cursor, bs))
            cursor = max(cursor, be)
            if cursor >= we:
                break
        if cursor < we:
            free.append((cursor, we))
    return free


def gaps(intervals: Sequence[Interval]) -> list[Interval]:
    """The holes between consecutive (normalized) intervals, inside their overall span."""
    merged = normalize(intervals)
    return [(a[1], b[0]) for a, b in itertools.pairwise(merged) if b[0] > a[1]]


def contains(intervals: Iterable[Interval], start: int, end: int) -> bool:
    """True when [start, end) lies entirely inside one of ``intervals``."""
    return any(s <= start and end <= e for s, e in intervals)


def overlaps(a: Interval, b: Interval) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def max_overlap(intervals: Iterable[Interval]) -> int:
    """The largest number of intervals running at one instant (a sweep over start/end events)."""
    events: list[tuple[int, int]] = []
    for s, e in intervals:
        if e > s:
            events.append((s, 1))
            events.append((e, -1))
    # Ends sort before starts at the same minute: half-open intervals that touch do not clash.
    events.sort(key=lambda ev: (ev[0], ev[1]))
    best = running = 0
    for _, delta in events:
        running += delta
        best = max(best, running)
    return best


def fits_capacity(busy: Sequence[Interval], capacity: int, start: int, end: int) -> bool:
    """True when adding [start, end) keeps at most ``capacity`` intervals running at once."""
    clashing = [b for b in busy if overlaps(b, (start, end))]
    if len(clashing) < capacity:
        return True
    return max_overlap([*clashing, (start, end)]) <= capacity


def earliest_fit(
    free: Sequence[Interval],
    busy: Sequence[Interval],
    capacity: int,
    duration_min: int,
    earliest: int,
) -> int | None:
    """Earliest start >= ``earliest`` of a lot of ``duration_min`` inside one free interval.

    ``busy`` holds the lots already placed (and, for capacity > 1, the bookings); the start may
    only be a free-interval start, ``earliest`` or the end of a busy interval, because the
    earliest feasible start is always one of those points.
    """
    return FitFinder(FreeTimes(free), busy, capacity).earliest(duration_min, earliest)


class FreeTimes:
    """A resource's free intervals with what a probe needs to skip most of them.

    ``ends`` (only when the ends never decrease, as in normalized intervals) lets a probe
    bisect past the intervals that end too early; ``longest_from[i]``, the longest interval of
    ``intervals[i:]``, lets it stop as soon as no later interval is long enough.
    Build it once per resource and share it between ``FitFinder``s.
    """

    __slots__ = ("ends", "intervals", "longest_from")

    def __init__(self, free: Sequence[Interval]) -> None:
        self.intervals = tuple(free)
        ends = [e for _, e in self.intervals]
        self.ends = ends if all(a <= b for a, b in itertools.pairwise(ends)) else None
        longest_from = [0] * (len(ends) + 1)
        for i in range(len(ends) - 1, -1, -1):
            s, e = self.intervals[i]
            longest_from[i] = max(e - s, longest_from[i + 1])
        self.longest_from = longest_from


class FitFinder:
    """``earliest_fit`` for many (duration, earliest) probes against the same resource state.

    Sorting the busy intervals and their ends once lets each probe bisect instead of scanning
    every busy interval for every candidate start (the greedy planner's binary search over lot
    sizes probes one resource a dozen times in a row).
    """

    __slots__ = ("_busy", "_capacity", "_ends", "_free", "_starts")

    def __init__(self, free: FreeTimes, busy: Sequence[Interval], capacity: int) -> None:
        self._free = free
        self._capacity = capacity
        self._busy = sorted(busy)
        self._starts = [b[0] for b in self._busy]
        self._ends = sorted({e for _, e in busy})

    def earliest(self, duration_min: int, earliest: int) -> int | None:
        """See ``earliest_fit``: the same candidate points, tried in the same order."""
        ends, free = self._ends, self._free
        intervals, longest_from = free.intervals, free.longest_from
        # An interval ending before earliest + duration is always skipped below, and so is
        # every interval shorter than the duration.
        first = 0 if free.ends is None else bisect_left(free.ends, earliest + duration_min)
        for k in range(first, len(intervals)):
            if longest_from[k] < duration_min:
                return None
            fs, fe = intervals[k]
            lo = fs if fs > earliest else earliest
            if fe - lo < duration_min:
                continue
            if self._fits(lo, lo + duration_min):
                return lo
            last = fe - duration_min
            for i in range(bisect_right(ends, lo), bisect_right(ends, last)):
                start = ends[i]
                if self._fits(start, start + duration_min):
                    return start
        return None

    def _fits(self, start: int, end: int) -> bool:
        """``fits_capacity(busy, capacity, start, end)``, looking only at intervals that
        begin before ``end`` (the others cannot overlap)."""
        busy = self._busy
        n = bisect_left(self._starts, end)
        if self._capacity == 1:
            for i in range(n):
                if busy[i][1] > start:
                    break
            else:
                return True
        clashing = [b for b in busy[:n] if b[1] > start]
        if len(clashing) < self._capacity:
            return True
        return max_overlap([*clashing, (start, end)]) <= self._capacity
