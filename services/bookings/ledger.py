"""Stored bookings and windows as ``scheduling.booking`` calendars, in whole seconds.

The pure rules live in ``scheduling.booking``; this module only reads the rows (inside the
caller's transaction, after the caller locked the resource rows) and converts times. Lots round
outwards and windows inwards, so a sub-second remainder never claims time nobody offered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling.booking import Calendar, Conflict, ConflictKind, Held, stranded
from scheduling.intervals import Interval
from services.bookings.models import ACTIVE_STATES, Booking, BookingState
from services.resources.models import Resource

# Bookings whose time is still to come or under way: what a calendar change can strand.
OPEN_STATES = (BookingState.BOOKED.value, BookingState.RUNNING.value)


def start_s(when: datetime) -> int:
    return math.floor(when.timestamp())


def end_s(when: datetime) -> int:
    return math.ceil(when.timestamp())


def lot_interval(start: datetime, end: datetime) -> Interval:
    return (start_s(start), end_s(end))


def window_intervals(windows: Iterable[tuple[datetime, datetime]]) -> list[Interval]:
    return [(end_s(s), start_s(e)) for s, e in windows]


def held_of(session: Session, resource_ids: Sequence[str], *,
            states: Sequence[str] = ACTIVE_STATES) -> dict[str, list[Held]]:
    """The bookings each resource holds in ``states``, as ``Held`` lots."""
    out: dict[str, list[Held]] = {rid: [] for rid in resource_ids}
    if not resource_ids:
        return out
    rows = session.execute(select(Booking.id, Booking.resource_id, Booking.start, Booking.end,
                                  Booking.source)
                           .where(Booking.resource_id.in_(resource_ids),
                                  Booking.status.in_(states)))
    for bid, rid, start, end, source in rows:
        s, e = lot_interval(start, end)
        out[rid].append(Held(bid, s, e, bound=source != "scenario"))
    return out


def calendars(session: Session, resources: Iterable[Resource], *,
              unavailable: set[str] | frozenset[str] = frozenset()) -> dict[str, Calendar]:
    """A ``Calendar`` per resource: its capacity, windows and active bookings."""
    rows = list(resources)
    held = held_of(session, [r.id for r in rows])
    return {r.id: Calendar(capacity=r.capacity,
                           windows=tuple(window_intervals((w.start, w.end) for w in r.windows)),
                           held=tuple(held[r.id]), available=r.id not in unavailable)
            for r in rows}


def describe(conflict: Conflict, *, quote_id: str, start: datetime, end: datetime) -> str:
    """The 409 message of a conflict: which resource, which time, why, which bookings."""
    span = f"{start.isoformat()}..{end.isoformat()}"
    rid = conflict.resource
    if conflict.kind is ConflictKind.UNKNOWN_RESOURCE:
        return f"quote {quote_id}: resource {rid!r} no longer exists; ask for a new quote"
    if conflict.kind is ConflictKind.UNAVAILABLE:
        return (f"quote {quote_id}: resource {rid} is down or offline right now; "
                "ask for a new quote")
    if conflict.kind is ConflictKind.OUTSIDE_WINDOW:
        return (f"quote {quote_id}: resource {rid} is no longer free {span} "
                "(its calendar changed); ask for a new quote")
    if conflict.kind is ConflictKind.OVER_CAPACITY:
        held = ", ".join(conflict.with_held) or "another lot of this quote"
        return (f"resource {rid} is already booked between {start.isoformat()} and "
                f"{end.isoformat()} (by {held}): double booking refused")
    return f"quote {quote_id}: lot on {rid} {span} is empty"


def stranded_by(session: Session, resource: Resource, *, capacity: int,
                windows: Iterable[tuple[datetime, datetime]],
                since: datetime | None = None) -> list[str]:
    """Open bookings of ``resource`` that ``capacity`` and ``windows`` would no longer hold.

    Done lots are history: a calendar may drop the time they used. A calendar published at
    ``since`` speaks only of the time after it: booked time before ``since`` is not judged.
    """
    held = held_of(session, [resource.id], states=OPEN_STATES)[resource.id]
    if since is not None:
        cut = start_s(since)
        held = [Held(h.id, max(h.start, cut), h.end, h.bound) for h in held if h.end > cut]
    return stranded(capacity=capacity, windows=window_intervals(windows), held=held)
