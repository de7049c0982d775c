"""What the platform knows at one simulated minute, cut into the Scenario a policy sees.

The market's published windows never change; what changes is what is already booked (lots of earlier
orders) and which machines are down. ``snapshot`` hands the matching engine exactly the scenario
picture (docs/formats.md): resources, their windows from ``now`` on, and ``Scenario.bookings`` for
the time already sold. It leaves out resources whose process the order does not use and windows long
after the due date: both only make the engine's model bigger, never its answer different.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from domain.model import Booking, Factory, Order, Resource, Scenario, Window
from scheduling.booking import Calendar, Held
from simulations.generator import MIN_PER_DAY, Market


@dataclass(eq=False, slots=True)
class BookedLot:
    """A lot the platform has sold time for; the simulation moves it through its states."""

    id: str
    order: str
    step: str
    factory: str
    resource: str
    quantity: int
    planned_start: int
    planned_end: int
    cost: float
    state: str = "planned"  # planned | running | done | cancelled
    started: int | None = None
    finished: int | None = None
    remaining_min: int = 0
    # The last Booking handed to the engine and its (start, end): a lot booked in the future
    # looks the same to every snapshot, so the object is built once, not once per call.
    booking: tuple[int, int, Booking] | None = None

    @property
    def duration_min(self) -> int:
        return self.planned_end - self.planned_start

    def expected_end(self, now: int) -> int:
        """When the lot should be done, as the planner would estimate it now."""
        if self.finished is not None:
            return self.finished
        if self.state == "running":
            return now + self.remaining_min
        return max(self.planned_end, now + self.duration_min)


@dataclass(eq=False, slots=True)
class MachineState:
    resource: Resource
    factory: Factory
    window_starts: list[int]
    window_ends: list[int]
    down_until: int = 0
    # The materials it takes (empty: any), kept as a set: the snapshot asks for every call.
    materials: frozenset[str] = frozenset()
    lots: dict[str, BookedLot] = field(default_factory=dict)  # active lots by id, in order


class MarketState:
    """Machines with their windows (as minutes), downtime and active bookings."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.machines: dict[str, MachineState] = {}
        self.by_process: dict[str, list[str]] = {}
        self.factories: dict[str, Factory] = {f.id: f for f in market.factories}
        for f in market.factories:
            for r in f.resources:
                self.machines[r.id] = MachineState(
                    resource=r, factory=f,
                    window_starts=[market.minute(w.start) for w in r.windows],
                    window_ends=[market.minute(w.end) for w in r.windows],
                    materials=frozenset(r.materials),
                )
                self.by_process.setdefault(r.process, []).append(r.id)

    def book(self, lot: BookedLot) -> None:
        self.machines[lot.resource].lots[lot.id] = lot

    def release(self, lot: BookedLot) -> None:
        self.machines[lot.resource].lots.pop(lot.id, None)

    def _windows(self, m: MachineState, start: int, until: int) -> tuple[Window, ...]:
        """The machine's published windows cut to [start, until)."""
        i = bisect.bisect_right(m.window_ends, start)
        j = bisect.bisect_left(m.window_starts, until)
        windows = m.resource.windows[i:j]
        if not windows:
            return ()
        first_start = m.window_starts[i]
        last_end = m.window_ends[j - 1]
        if first_start >= start and last_end <= until:
            return windows
        out = list(windows)
        at = self.market.at
        if first_start < start:
            out[0] = Window(at(start), out[0].end)
        if last_end > until:
            last = out[-1]
            if at(until) <= last.start:
                out.pop()
            else:
                out[-1] = Window(last.start, at(until))
        return tuple(out)

    @staticmethod
    def _held_span(lot: BookedLot, start: int) -> tuple[int, int]:
        """The time ``lot`` holds on its machine as seen from minute ``start``."""
        # A late lot still needs its whole run: we book it from now on, not as planned.
        s = max(lot.planned_start, start) if lot.state == "planned" else start
        return s, max(lot.expected_end(start), s + 1)

    def calendars(self, resource_ids: Iterable[str], start: int, *,
                  exclude: Iterable[str] = ()) -> dict[str, Calendar]:
        """What each machine has promised, from ``start`` on, as ``scheduling.booking`` reads
        it: the same windows and held time the snapshot shows the engine, so a plan made on
        the snapshot books, and one that would double-book a machine is refused."""
        excluded = set(exclude)
        out: dict[str, Calendar] = {}
        for rid in resource_ids:
            m = self.machines.get(rid)
            if m is None:
                continue  # book() names it unknown
            begin = max(start, m.down_until)
            windows = tuple((max(a, begin), b) for a, b in zip(m.window_starts, m.window_ends,
                                                                strict=True) if b > begin)
            held = tuple(Held(lot.id, *self._held_span(lot, start)) for lot in m.lots.values()
                         if lot.id not in excluded and lot.state in ("planned", "running"))
            out[rid] = Calendar(capacity=m.resource.capacity, windows=windows, held=held)
        return out

    def _bookings(self, m: MachineState, start: int, until: int,
                  exclude: set[str]) -> list[Booking]:
        out = []
        for lot in m.lots.values():
            if lot.id in exclude or lot.state not in ("planned", "running"):
                continue
            s, e = self._held_span(lot, start)
            if e <= start or s >= until:
                continue
            if lot.booking is None or lot.booking[:2] != (s, e):
                lot.booking = (s, e, Booking(
                    id=lot.id, resource=m.resource.id, start=self.market.at(s),
                    end=self.market.at(e), order=lot.order, step=lot.step,
                    quantity=lot.quantity))
            out.append(lot.booking[2])
        return out

    def snapshot(self, orders: Order | Sequence[Order], start: int, *,
                 lookahead_after_due_min: int, exclude: Iterable[str] = (),
                 factory: str | None = None) -> Scenario:
        """The market as the engine sees it for ``orders`` from minute ``start`` on.

        ``exclude`` names lots being re-planned (their time is free again); ``factory``
        restricts the market to one factory (the single-factory status quo).
        """
        batch = (orders,) if isinstance(orders, Order) else tuple(orders)
        excluded = set(exclude)
        # Per process: materials asked for and how far ahead any order needing it may look
        # (its due date plus the look-ahead). A batch's far-off order must not stretch the
        # windows of processes only its near orders use: that only lengthens the engine's scans.
        wanted: dict[str, set[str]] = {}
        horizon: dict[str, int] = {}
        for o in batch:
            reach = max(self.market.minute(o.due), start) + lookahead_after_due_min
            for s in o.steps:
                wanted.setdefault(s.process, set()).add(o.material)
                horizon[s.process] = max(horizon.get(s.process, reach), reach)
        per_factory: dict[str, list[Resource]] = {}
        bookings: list[Booking] = []
        for process in sorted(wanted):
            materials = wanted[process]
            until = horizon[process]
            for rid in self.by_process.get(process, ()):
                m = self.machines[rid]
                if factory is not None and m.factory.id != factory:
                    continue
                if m.materials and m.materials.isdisjoint(materials):
                    continue  # Capability.fits: the process matches by construction
                windows = self._windows(m, max(start, m.down_until), until)
                if not windows:
                    continue
                per_factory.setdefault(m.factory.id, []).append(
                    dataclasses.replace(m.resource, windows=windows))
                bookings.extend(self._bookings(m, start, until, excluded))
        factories = tuple(dataclasses.replace(self.factories[fid], resources=tuple(rs))
                          for fid, rs in sorted(per_factory.items()))
        return Scenario(horizon_start=self.market.at(start), factories=factories,
                        orders=batch, transport=self.market.transport,
                        objective=self.market.objective, bookings=tuple(bookings))


def lookahead_min(days: float) -> int:
    return round(days * MIN_PER_DAY)
