"""Is a lot overrunning its booking? A pure judgement from its booked time and its progress.

A lot overruns when it is still not finished ``grace`` past its booked end, or when the pace
it has kept so far (pieces through per second since its booked start or the arrival of its
input, whichever is later, or the booked pace if
it has not begun) finishes it more than ``grace`` after its booked end; the pace is judged
once a tenth of the booked time has passed. The first is judged
at any time; the second only while its input is on hand (a lot waiting for pieces from the
step before it runs at that step's pace, and that step is judged itself).

What the services do with the verdict: a lot past its end is released (what it made counts,
the rest is remade elsewhere); a lot projected late keeps its machine until its booked end,
makes what its pace allows by then (``through_by_end``) and the rest is remade.

Times are integers in any one unit (the services use seconds since the epoch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LotProgress:
    """A lot's booked time and its cumulative counts."""

    start: int
    end: int
    quantity: int
    done: int = 0
    scrap: int = 0
    # When its input was at the factory, if after its booked start: the pace is measured
    # from then (time spent waiting for a truck is not the machine's slowness).
    ready: int | None = None

    @property
    def through(self) -> int:
        return self.done + self.scrap

    @property
    def began(self) -> int:
        return max(self.start, self.ready) if self.ready is not None else self.start


@dataclass(frozen=True, slots=True)
class Overrun:
    """The verdict: past its end, or projected to finish at ``projected_end``."""

    past_end: bool
    projected_end: int | None
    # Pieces through (good + scrap) by the booked end at the current pace; the good ones of
    # them, assuming the scrap share seen so far.
    through_by_end: int
    good_by_end: int

    def late_by(self, end: int) -> int:
        """How far past the booked ``end`` it finishes (0 when only known to be past it)."""
        return 0 if self.projected_end is None else max(0, self.projected_end - end)


def judge(lot: LotProgress, *, now: int, grace: int, input_on_hand: bool) -> Overrun | None:
    """The overrun of ``lot`` at ``now``, or None while it keeps its booking."""
    if lot.through >= lot.quantity or lot.end <= lot.start:
        return None
    if now > lot.end + grace:
        return Overrun(past_end=True, projected_end=None, through_by_end=lot.through,
                       good_by_end=lot.done)
    # Too early to tell a pace from noise (a late first report, a slow start): judge once a
    # tenth of the booked time has passed.
    if not input_on_hand or now - lot.began < (lot.end - lot.start) / 10:
        return None
    # Not begun: it can at best run at the booked pace from now on.
    per_s = (lot.through / (now - lot.began) if lot.through
             else lot.quantity / (lot.end - lot.start))
    projected = now + math.ceil((lot.quantity - lot.through) / per_s)
    if projected <= lot.end + grace:
        return None
    more = max(0, min(lot.quantity - lot.through, math.floor(per_s * (lot.end - now))))
    good_share = lot.done / lot.through if lot.through else 1.0
    return Overrun(past_end=False, projected_end=projected, through_by_end=lot.through + more,
                   good_by_end=lot.done + math.floor(more * good_share))
