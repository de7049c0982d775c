"""The booking commit as a pure function: accept every proposed lot, or name each conflict.

A resource's commitments are its published windows, its capacity and the lots it already
holds. ``book`` decides whether a set of new lots fits all of them at once (lots of the same
proposal count against each other); ``stranded`` decides which held lots a new calendar or
capacity would no longer hold, so the services can refuse the change (409) or repair the plan.

Times are integers (the services use whole seconds since the epoch, the solver minutes from the
horizon): the rules do not care about the unit. Nothing here touches a database or a clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from scheduling.intervals import Interval, contains, fits_capacity, normalize


class ConflictKind(StrEnum):
    UNKNOWN_RESOURCE = "unknown_resource"
    UNAVAILABLE = "unavailable"  # down or offline right now
    EMPTY = "empty"
    OUTSIDE_WINDOW = "outside_window"
    OVER_CAPACITY = "over_capacity"


@dataclass(frozen=True, slots=True)
class Held:
    """A lot a resource already holds (a booking): its id and its time."""

    id: str
    start: int
    end: int
    # True when the lot was sold from the windows (a quote), so it must stay inside them;
    # time sold elsewhere (a scenario import) only counts against the capacity.
    bound: bool = True

    @property
    def interval(self) -> Interval:
        return (self.start, self.end)


@dataclass(frozen=True, slots=True)
class Calendar:
    """What a resource has promised and offers: capacity, windows, held lots."""

    capacity: int
    windows: tuple[Interval, ...]
    held: tuple[Held, ...] = ()
    available: bool = True


@dataclass(frozen=True, slots=True)
class Lot:
    """A proposed lot: ``key`` names it in conflicts (e.g. the step and its index)."""

    key: str
    resource: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Conflict:
    lot: str
    resource: str
    kind: ConflictKind
    # The held lots the new one would clash with (capacity conflicts only).
    with_held: tuple[str, ...] = field(default=())


def book(calendars: Mapping[str, Calendar], lots: Sequence[Lot]) -> list[Conflict]:
    """The conflicts of committing ``lots`` together; an empty list means book them all.

    Lots are checked in order, each against the resource's held lots plus the proposal's own
    earlier lots on it. A lot must sit inside one stretch of free window time: touching windows
    [8, 12) + [12, 20) are one stretch [8, 20), as the matching engine sees them.
    """
    conflicts: list[Conflict] = []
    taken: dict[str, list[Interval]] = {}
    merged: dict[str, list[Interval]] = {}
    for lot in lots:
        cal = calendars.get(lot.resource)
        if cal is None:
            conflicts.append(Conflict(lot.key, lot.resource, ConflictKind.UNKNOWN_RESOURCE))
            continue
        if not cal.available:
            conflicts.append(Conflict(lot.key, lot.resource, ConflictKind.UNAVAILABLE))
            continue
        if lot.end <= lot.start:
            conflicts.append(Conflict(lot.key, lot.resource, ConflictKind.EMPTY))
            continue
        windows = merged.setdefault(lot.resource, normalize(cal.windows))
        if not contains(windows, lot.start, lot.end):
            conflicts.append(Conflict(lot.key, lot.resource, ConflictKind.OUTSIDE_WINDOW))
            continue
        mine = taken.setdefault(lot.resource, [])
        busy = [h.interval for h in cal.held] + mine
        if not fits_capacity(busy, cal.capacity, lot.start, lot.end):
            clash = tuple(h.id for h in cal.held if h.start < lot.end and lot.start < h.end)
            conflicts.append(Conflict(lot.key, lot.resource, ConflictKind.OVER_CAPACITY, clash))
            continue
        mine.append((lot.start, lot.end))
    return conflicts


def stranded(*, capacity: int, windows: Sequence[Interval], held: Sequence[Held]) -> list[str]:
    """Ids of held lots that ``capacity`` and ``windows`` no longer hold, in time order.

    A lot outside every stretch of window time is stranded. Where more lots run at once than
    the capacity allows, the ones that started last at that instant are stranded (the earlier
    ones keep their place: first come, first served).
    """
    spans = normalize(windows)
    out: list[str] = []
    kept: list[Held] = []
    for h in sorted(held, key=lambda h: (h.start, h.end, h.id)):
        outside = h.bound and not contains(spans, h.start, h.end)
        if outside or not fits_capacity([k.interval for k in kept], capacity, h.start, h.end):
            out.append(h.id)
        else:
            kept.append(h)
    return out
