"""Utilization: the one definition, written once and used by the park page's API, /metrics and
docs/web.md.

    utilization(machine, [start, end)) = used machine-hours / available machine-hours

- **available**: the hours of the machine's *published* windows (what its factory offers the
  platform) inside ``[start, end)``, times its capacity (parallel units). Overlapping windows
  count once.
- **used**: the hours of its lots (bookings that are booked, running or done: booked and
  running time) inside those windows and ``[start, end)``; each lot occupies one unit. A lot
  outside every published window adds nothing (the factory worked outside what it offered),
  and used is capped at available, so utilization never exceeds 100 %. Cancelled lots count
  for nothing.
- A bucket without published time has no utilization (``None``), not 0 %.

We assume a lot occupies its unit for its whole booked span (set-up included), as the matcher
plans it. A park's, factory's or process's utilization is the ratio of the sums, never the
mean of the machines' ratios (a big idle machine weighs more than a small busy one).

Plain data and pure functions; the database reads are in ``services.parks.operations``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open time span ``[start, end)``."""

    start: datetime
    end: datetime

    def hours(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds() / 3600.0)

    def clip(self, start: datetime, end: datetime) -> Span | None:
        lo, hi = max(self.start, start), min(self.end, end)
        return Span(lo, hi) if hi > lo else None


@dataclass(frozen=True, slots=True)
class Utilization:
    """Available and used machine-hours of one bucket; ``ratio`` is the utilization."""

    available_h: float
    used_h: float

    @property
    def ratio(self) -> float | None:
        return self.used_h / self.available_h if self.available_h > 0 else None

    @property
    def idle_h(self) -> float:
        """Published hours nobody has booked."""
        return max(0.0, self.available_h - self.used_h)

    def __add__(self, other: Utilization) -> Utilization:
        return Utilization(self.available_h + other.available_h, self.used_h + other.used_h)


NONE = Utilization(0.0, 0.0)


def merge(spans: Iterable[Span]) -> list[Span]:
    """The union of ``spans`` as sorted, disjoint spans."""
    out: list[Span] = []
    for s in sorted(spans, key=lambda x: x.start):
        if out and s.start <= out[-1].end:
            if s.end > out[-1].end:
                out[-1] = Span(out[-1].start, s.end)
        else:
            out.append(s)
    return out


def utilization(*, windows: Sequence[Span], lots: Sequence[Span], capacity: int,
                start: datetime, end: datetime) -> Utilization:
    """One machine's utilization over ``[start, end)`` (see the module docstring)."""
    published = [c for w in merge(windows) if (c := w.clip(start, end)) is not None]
    available_h = sum(w.hours() for w in published) * max(1, capacity)
    used_h = 0.0
    for lot in lots:
        for w in published:
            if (c := lot.clip(w.start, w.end)) is not None:
                used_h += c.hours()
    return Utilization(round(available_h, 6), round(min(used_h, available_h), 6))


def buckets(start: datetime, end: datetime, step: timedelta) -> list[Span]:
    """``[start, end)`` cut into consecutive spans of ``step`` (the last one may be shorter)."""
    out, t = [], start
    while t < end:
        out.append(Span(t, min(t + step, end)))
        t += step
    return out


def by_bucket(*, windows: Sequence[Span], lots: Sequence[Span], capacity: int,
              spans: Sequence[Span]) -> list[Utilization]:
    """One machine's utilization in each of ``spans`` (an hour or a day each, say)."""
    return [utilization(windows=windows, lots=lots, capacity=capacity, start=s.start,
                        end=s.end) for s in spans]


def total(figures: Iterable[Utilization]) -> Utilization:
    """The utilization of several machines or buckets together: the ratio of the sums."""
    out = NONE
    for f in figures:
        out = out + f
    return out
