"""The market's candidates indexed once per market version, so a quote's work follows its order.

Before this, every quote rebuilt a ``CandidateIndex`` and scored every capable resource in
Python: at 100,000 resources some 40,000 candidates per 5-step order, before the first one
was looked at closely. A ``MarketIndex`` is built from the whole market's factories once (the
API keeps it with its market copy, ``services.scenario.market_cache``) and holds, per process
code, numpy arrays of what the filters and the rough price need (materials, factory, pricing,
setup, speed, first opening). ``build_problem`` then filters and ranks a step's candidates
with a few array operations and makes ``Candidate`` objects only for the shortlist.

What changes with every quote is not in here: bookings (the builder reads them from the
scenario, so a booked slot is never offered from a stale index), live availability (the
``unavailable`` resources of ``IndexedScenario``) and credit (the scenario's factories).
``IndexedScenario`` carries the index with the scenario it was made for; a copy of the
scenario with other factories (``dataclasses.replace``) no longer matches and is built the
slow, exact way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from domain.model import Factory, Order, PricingMode, Resource, Scenario, Step
from domain.pricing import step_value_cny

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def _or_nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


class ProcessArrays:
    """Every resource of one process code, in market order, as parallel arrays."""

    def __init__(self, rows: list[tuple[int, Resource]]) -> None:
        self.factory = np.array([f for f, _ in rows], dtype=np.int64)
        self.resources = [r for _, r in rows]
        self.ids = [r.id for r in self.resources]
        self.time_share = np.array([_or_nan(r.pricing.time_share_per_hour)
                                    for r in self.resources], dtype=np.float64)
        self.per_piece = np.array([_or_nan(r.pricing.per_piece) for r in self.resources],
                                  dtype=np.float64)
        self.by_value = np.array([_or_nan(r.pricing.by_value_pct) for r in self.resources],
                                 dtype=np.float64)
        self.setup = np.array([r.setup_min for r in self.resources], dtype=np.int64)
        self.speed = np.array([r.speed for r in self.resources], dtype=np.float64)
        # The first window's start (POSIX seconds; NaN: no window), the shortlist's "earliest".
        self.opens = np.array([r.windows[0].start.timestamp() if r.windows else math.nan
                               for r in self.resources], dtype=np.float64)
        order = sorted(range(len(self.ids)), key=self.ids.__getitem__)
        self.id_rank = np.empty(len(self.ids), dtype=np.int64)
        self.id_rank[order] = np.arange(len(self.ids))
        self._materials = [r.materials for r in self.resources]
        self._by_material: dict[str, Bools] = {}
        self.position = {rid: i for i, rid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def accepts(self, material: str) -> Bools:
        """Resources that take ``material`` (no materials listed: any)."""
        mask = self._by_material.get(material)
        if mask is None:
            mask = np.array([not ms or material in ms for ms in self._materials], dtype=bool)
            self._by_material[material] = mask  # a race computes the same mask twice
        return mask

    def offers(self, order: Order) -> Bools:
        """Resources offering a mode ``order`` may pay (``domain.pricing.offered_modes``)."""
        ts, pp = ~np.isnan(self.time_share), ~np.isnan(self.per_piece)
        bv = ~np.isnan(self.by_value) if order.value > 0 else np.zeros(len(self), dtype=bool)
        if order.pricing is PricingMode.CHEAPEST:
            return ts | pp | bv
        return {PricingMode.TIME_SHARE: ts, PricingMode.PER_PIECE: pp,
                PricingMode.BY_VALUE: bv}[order.pricing]

    def rough_cost(self, order: Order, step: Step, at: Ints) -> Floats:
        """``build._rough_cost`` of the resources ``at``, the same float operations in the
        same order (so rankings match the per-candidate computation exactly)."""
        q = order.quantity
        ts, pp, bv = self.time_share[at], self.per_piece[at], self.by_value[at]
        setup = np.maximum(self.setup[at], step.setup_min)
        with np.errstate(invalid="ignore"):
            best = np.where(np.isnan(ts), math.inf,
                            ts / 60 * (setup + q * step.minutes_per_piece / self.speed[at]))
            piece = pp * q
            best = np.where(~np.isnan(pp) & (piece < best), piece, best)
            if order.value > 0:
                value = bv / 100 * step_value_cny(order, step)
                best = np.where(~np.isnan(bv) & (value < best), value, best)
        return np.asarray(best, dtype=np.float64)


class MarketIndex:
    """Resources by process code, factories by id, built once from a whole market.

    ``factories``: the market in its order, every resource with its calendar from the quote's
    horizon on. Read-only once built, except small memos that a race only fills twice.
    """

    def __init__(self, factories: Sequence[Factory]) -> None:
        self.factories = tuple(factories)
        self.factory_ids = [f.id for f in self.factories]
        self.factory_at = {fid: i for i, fid in enumerate(self.factory_ids)}
        order = sorted(range(len(self.factory_ids)), key=self.factory_ids.__getitem__)
        self.factory_rank = np.empty(len(order), dtype=np.int64)
        self.factory_rank[order] = np.arange(len(order))
        self.parks = np.array([f.park for f in self.factories], dtype=object)
        rows: dict[str, list[tuple[int, Resource]]] = {}
        self.resource_at: dict[str, int] = {}  # resource id -> its factory's position
        self.process_of: dict[str, str] = {}  # resource id -> its process code
        for i, f in enumerate(self.factories):
            for r in f.resources:
                rows.setdefault(r.process, []).append((i, r))
                self.resource_at[r.id] = i
                self.process_of[r.id] = r.process
        self.processes = {p: ProcessArrays(rs) for p, rs in rows.items()}
        bit = {p: 1 << k for k, p in enumerate(sorted(self.processes))}
        self._bit = bit
        self._mask = [sum({bit[r.process] for r in f.resources}) for f in self.factories]
        # Factory cuts by (position, processes wanted there), per blank credit.
        self._cuts: dict[float | None, dict[tuple[int, int], Factory]] = {}
        self._certified: dict[frozenset[str], Bools] = {}

    def certified(self, certifications: Iterable[str]) -> Bools:
        """Factories holding every one of ``certifications``."""
        need = frozenset(certifications)
        mask = self._certified.get(need)
        if mask is None:
            mask = np.array([need <= set(f.certifications) for f in self.factories], dtype=bool)
            self._certified[need] = mask
        return mask

    def in_parks(self, parks: Sequence[str]) -> Bools:
        if not parks:
            return np.ones(len(self.factories), dtype=bool)
        return np.isin(self.parks, list(parks))

    def factories_for(self, processes: Iterable[str], unavailable: Iterable[str] = (),
                      credit: dict[str, float] | None = None,
                      blank_credit: float | None = None) -> tuple[Factory, ...]:
        """The market's factories with a resource of ``processes`` (in market order), each
        holding only those resources, minus ``unavailable`` ones, with its ``credit``
        (``blank_credit`` when it has none): what the quote view is made of.

        A factory's cut to a set of processes is kept (credit ``blank_credit``), so a quote
        allocates only for the factories that are down or have a record.
        """
        want = sum(self._bit.get(p, 0) for p in set(processes))
        down: dict[int, set[str]] = {}
        for rid in unavailable:
            at = self.resource_at.get(rid)
            if at is not None:
                down.setdefault(at, set()).add(rid)
        credit = credit or {}
        special = set(down) | {self.factory_at[f] for f in credit if f in self.factory_at}
        memo = self._cuts.setdefault(blank_credit, {})
        out = []
        for i, mask in enumerate(self._mask):
            key = mask & want
            if not key:
                continue
            cut = memo.get((i, key))
            if cut is None:
                f = self.factories[i]
                cut = memo[(i, key)] = _factory(
                    f, tuple(r for r in f.resources if self._bit[r.process] & want), blank_credit)
            if i in special:
                if i in down:
                    cut = _factory(cut, tuple(r for r in cut.resources if r.id not in down[i]),
                                   cut.credit)
                    if not cut.resources:
                        continue
                fid = self.factory_ids[i]
                if fid in credit and credit[fid] != cut.credit:
                    cut = _factory(cut, cut.resources, credit[fid])
            out.append(cut)
        return tuple(out)

    def view(self, base: Scenario, factories: tuple[Factory, ...],
             unavailable: Iterable[str] = ()) -> IndexedScenario:
        """``base`` with ``factories`` (from ``factories_for``), carrying this index."""
        return IndexedScenario(
            horizon_start=base.horizon_start, factories=factories, orders=base.orders,
            transport=base.transport, objective=base.objective, bookings=base.bookings,
            candidate_index=self, indexed_factories=factories,
            unavailable=frozenset(unavailable))


def _factory(f: Factory, resources: tuple[Resource, ...], credit: float | None) -> Factory:
    """``f`` with other resources and credit (positional: ``dataclasses.replace`` costs 3x)."""
    return Factory(f.id, f.name, f.park, f.lat, f.lon, f.rating, f.certifications, resources,
                   credit)


@dataclass(frozen=True, slots=True)
class IndexedScenario(Scenario):
    """A scenario carrying the ``MarketIndex`` its factories were cut from.

    ``indexed_factories`` is the very tuple the view was made with: a copy with other
    factories (``dataclasses.replace``) no longer matches and ``index()`` answers None.
    """

    candidate_index: MarketIndex | None = field(default=None, repr=False, compare=False)
    indexed_factories: tuple[Factory, ...] = field(default=(), repr=False, compare=False)
    unavailable: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    # Lookups by id, made once per view (not copied by dataclasses.replace: init=False).
    lookups: dict[str, dict[str, object]] = field(default_factory=dict, init=False,
                                                  repr=False, compare=False)

    def index(self) -> MarketIndex | None:
        return self.candidate_index if self.indexed_factories is self.factories else None

    def plain(self) -> Scenario:
        """The same scenario as a plain ``Scenario`` (for comparisons and serialisation)."""
        return Scenario(self.horizon_start, self.factories, self.orders, self.transport,
                        self.objective, self.bookings)


def factories_by_id(scenario: Scenario) -> dict[str, Factory]:
    """Every factory of ``scenario`` by id (an indexed view makes it once, not per caller:
    17,000 factories at 100,000 resources, asked for by every plan of a quote)."""
    if not isinstance(scenario, IndexedScenario) or scenario.index() is None:
        return {f.id: f for f in scenario.factories}
    found = scenario.lookups.get("factories")
    if found is None:
        found = scenario.lookups["factories"] = {f.id: f for f in scenario.factories}
    return found  # type: ignore[return-value]


def resources_of(scenario: Scenario,
                 ids: Iterable[str]) -> dict[str, tuple[Factory, Resource]] | None:
    """Factory and resource of just ``ids`` through the index of an indexed view (no walk
    over the market); None for another scenario."""
    index = index_of(scenario)
    if index is None:
        return None
    factories = factories_by_id(scenario)
    out: dict[str, tuple[Factory, Resource]] = {}
    for rid in ids:
        at = index.resource_at.get(rid)
        f = None if at is None else factories.get(index.factory_ids[at])
        if f is None:
            continue
        r = next((r for r in f.resources if r.id == rid), None)
        if r is not None:
            out[rid] = (f, r)
    return out


def index_of(scenario: Scenario) -> MarketIndex | None:
    """The index ``scenario`` carries and still matches, if any."""
    return scenario.index() if isinstance(scenario, IndexedScenario) else None


def first_open(arrays: ProcessArrays, at: Ints, due: datetime) -> Floats:
    """Each resource's first opening (POSIX s), the order's due time when it has none."""
    opens = arrays.opens[at]
    return np.where(np.isnan(opens), due.timestamp(), opens)
