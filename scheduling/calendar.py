"""Calendars: a resource's published windows and existing bookings as integer minutes.

Outside the solver times are aware UTC datetimes; inside they are whole minutes from the
scenario's ``horizon_start``. Starts round up and ends round down, so a converted window never
claims time the factory did not offer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from domain.model import Booking, Resource
from scheduling.intervals import Interval, normalize, subtract


def to_minute(when: datetime, origin: datetime, *, round_up: bool = False) -> int:
    """Minutes from ``origin`` to ``when`` (floor, or ceil with ``round_up``)."""
    minutes = (when - origin).total_seconds() / 60.0
    return math.ceil(minutes - 1e-9) if round_up else math.floor(minutes + 1e-9)


def at_minute(minute: int, origin: datetime) -> datetime:
    return origin + timedelta(minutes=minute)


def windows_min(resource: Resource, origin: datetime) -> list[Interval]:
    """The resource's published windows in minutes, merged; the part before ``origin`` dropped."""
    t0 = origin.timestamp()
    out = []
    for w in resource.windows:  # the hot loop of candidate search: plain float arithmetic
        start = (w.start.timestamp() - t0) / 60.0
        end = (w.end.timestamp() - t0) / 60.0
        out.append((max(0, math.ceil(start - 1e-9)), math.floor(end + 1e-9)))
    return normalize(out)


def bookings_min(bookings: Iterable[Booking], origin: datetime) -> list[Interval]:
    """Booked time in minutes; a booking blocks every minute it touches (start down, end up)."""
    return [(to_minute(b.start, origin), to_minute(b.end, origin, round_up=True))
            for b in bookings]


def free_intervals(resource: Resource, bookings: Iterable[Booking],
                   origin: datetime) -> list[Interval]:
    """Where a new lot may run on a capacity-1 resource: its windows minus its bookings.

    For a service line (capacity > 1) a booking takes one slot, not the whole line, so callers
    keep the windows and count the bookings against the capacity instead.
    """
    booked = bookings_min(bookings, origin)
    windows = windows_min(resource, origin)
    return subtract(windows, booked) if booked else windows
