"""Repair of a broken plan as a pure function: what stays, what is released, what is remade.

A plan breaks when a resource goes down, a factory declines a work order, scrap leaves a step
short or a lot overruns its booking. ``repair`` decides, from the order's lots and what the
shop floor has done so far:

- done lots stay done; their good pieces count;
- lots on a broken resource, and lots named broken, that are not done are released (a running
  lot there stops: the pieces it finished count, the rest is remade);
- a lot cut short (overrunning: it keeps its booked time but makes fewer pieces) is kept with
  its smaller quantity, and its step is short of the difference;
- a step whose kept lots no longer yield the order's quantity of good pieces is short: the
  unstarted lots of every step after it are released too (their input now arrives later);
- the missing quantity of each short step is remade, no earlier than ``ready_at``: the moment
  the kept input of those steps is finished.

Nothing here plans: the services hand ``remake`` to the matcher against the live market.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum


class LotState(StrEnum):
    BOOKED = "booked"
    RUNNING = "running"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class PlannedLot:
    """One lot of the order's plan with its progress (times in any integer unit)."""

    id: str
    step: str
    resource: str
    start: int
    end: int
    quantity: int
    state: LotState
    done: int = 0
    scrap: int = 0

    def expected_good(self) -> int:
        """Good pieces this lot yields if it is kept: what it made, or will make."""
        if self.state is LotState.DONE:
            return self.done
        return max(self.done, self.quantity - self.scrap)


@dataclass(frozen=True, slots=True)
class Cut:
    """A lot that keeps its machine to its booked end but puts only ``quantity`` pieces
    through by then: an overrunning lot (``scheduling.overrun``)."""

    lot: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Breakage:
    """What broke: resources that cannot work, single lots (declined, past their end), and
    lots cut short (running too slowly to finish in their booking)."""

    resources: frozenset[str] = frozenset()
    lots: frozenset[str] = frozenset()
    cuts: tuple[Cut, ...] = ()


@dataclass(frozen=True, slots=True)
class RepairDecision:
    keep: tuple[str, ...]
    release: tuple[str, ...]
    # step -> pieces to make again; empty when nothing is missing
    remake: Mapping[str, int]
    # No remade lot may start before this (the kept input of the remade steps is finished).
    ready_at: int | None
    # lot id -> why it was released
    why: Mapping[str, str]
    # kept lot id -> its new quantity (a cut lot makes fewer pieces; the rest is remade)
    cut: Mapping[str, int] = field(default_factory=dict)

    @property
    def needed(self) -> bool:
        return bool(self.release or self.remake or self.cut)


def downstream(steps: Mapping[str, Sequence[str]], roots: set[str]) -> set[str]:
    """Steps that come after any of ``roots`` (transitively), not counting the roots."""
    out: set[str] = set()
    frontier = set(roots)
    while frontier:
        nxt = {s for s, after in steps.items() if set(after) & frontier} - out
        out |= nxt
        frontier = nxt
    return out - roots


def repair(lots: Sequence[PlannedLot], *, steps: Mapping[str, Sequence[str]], quantity: int,
           broken: Breakage) -> RepairDecision:
    """Decide what of the order's plan stays, what is released and what is remade.

    ``steps`` maps each step id to the steps it comes after; ``quantity`` is the order's
    quantity of good pieces every step must deliver.
    """
    why: dict[str, str] = {}
    cuts = {c.lot: c.quantity for c in broken.cuts}
    lots = [replace(lot, quantity=cuts[lot.id])
            if lot.id in cuts and lot.state is not LotState.DONE and cuts[lot.id] < lot.quantity
            else lot for lot in lots]
    for lot in lots:
        if lot.state is LotState.DONE:
            continue
        if lot.resource in broken.resources:
            why[lot.id] = f"resource {lot.resource} cannot work"
        elif lot.id in broken.lots:
            why[lot.id] = "lot broken (declined or overrunning)"
    while True:
        good = dict.fromkeys(steps, 0)
        for lot in lots:  # a released lot still counts the pieces it already made
            made = lot.done if lot.id in why else lot.expected_good()
            good[lot.step] = good.get(lot.step, 0) + made
        short = {s for s, g in good.items() if g < quantity}
        later = downstream(steps, short) - short
        names = ", ".join(sorted(short))
        more = {lot.id: f"comes after step(s) {names}, which are re-planned"
                for lot in lots
                if lot.step in later and lot.state is LotState.BOOKED and lot.id not in why}
        if not more:
            break
        why.update(more)
    remake = {s: quantity - good[s] for s in steps if good[s] < quantity}
    inputs = {a for s in remake for a in steps[s]} - set(remake)
    ends = [lot.end for lot in lots if lot.step in inputs and lot.id not in why]
    keep = tuple(lot.id for lot in lots if lot.id not in why)
    release = tuple(lot.id for lot in lots if lot.id in why)
    cut = {lot.id: lot.quantity for lot in lots
           if lot.id in cuts and lot.id in keep and lot.state is not LotState.DONE}
    return RepairDecision(keep=keep, release=release, remake=remake,
                          ready_at=max(ends) if ends else None,
                          why={k: why[k] for k in release}, cut=cut)


@dataclass(frozen=True, slots=True)
class RemakeLayer:
    """Remade work planned as one sub-order: ``quantity`` pieces through each of ``steps``.

    ``fed_by`` are the kept lots of the steps outside the layer that its steps come after:
    the layer's pieces start from their output, so its lots start once that has arrived.
    """

    steps: tuple[str, ...]
    quantity: int
    fed_by: tuple[str, ...]


def remake_layers(decision: RepairDecision, *, steps: Mapping[str, Sequence[str]],
                  lots: Sequence[PlannedLot]) -> list[RemakeLayer]:
    """Split ``decision.remake`` into layers so each step makes exactly what it is short of.

    Steps can be short by different amounts (scrap of 5 at the first step releases the whole
    next step: remake 5 then 60). Sorting the distinct amounts q1 < q2 < ... gives one layer
    per amount: the steps short of at least q_k make q_k - q_(k-1) more pieces. A step short
    of more than a step before it takes the difference from the earlier step's kept output,
    which is exactly that much larger, so no step makes more good pieces than reach it and
    every step ends with the order's quantity.
    """
    kept = set(decision.keep)
    layers: list[RemakeLayer] = []
    below = 0
    for amount in sorted(set(decision.remake.values())):
        members = tuple(s for s in steps if decision.remake.get(s, 0) >= amount)
        inputs = {a for s in members for a in steps[s]} - set(members)
        fed = tuple(lot.id for lot in lots if lot.step in inputs and lot.id in kept)
        layers.append(RemakeLayer(steps=members, quantity=amount - below, fed_by=fed))
        below = amount
    return layers
