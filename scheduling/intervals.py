"""Free-interval algebra on integer minutes: windows minus bookings gives free intervals.

Every interval is half-open ``(start, end)`` with ``start < end``. These are pure functions on
sorted tuples, shared by the solver (to find where a lot may run), the greedy baseline (to find
the earliest slot) and the conflict checks (to refuse double booking).
"""

from __future__ import annotations

import itertools
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
    ends = sorted({e for _, e in busy})
    for fs, fe in free:
        if fe - max(fs, earliest) < duration_min:
            continue
        lo = max(fs, earliest)
        points = [lo] + [e for e in ends if lo < e <= fe - duration_min]
        for start in points:
            if start + duration_min <= fe and fits_capacity(busy, capacity, start,
                                                            start + duration_min):
                return start
    return None
