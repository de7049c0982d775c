"""Turn a Scenario into a Problem: candidates, options, free intervals, transport legs, pre-checks.

Pre-checks refuse an order early with a reason a person understands (which step, which
constraint) so that neither the solver nor the greedy baseline meets an order that cannot fit.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from domain.geo import road_km
from domain.model import Booking, Factory, Order, PricingMode, Resource, Scenario, Step
from domain.pricing import step_value_cny
from domain.routing import topological_order
from matching.candidates import Candidate, CandidateIndex
from matching.factory_sets import HOSTS_PER_GROUP, MAX_EXACT_STEPS, best_assignments
from matching.lots import lot_setup_min, minutes_per_piece_at_speed_1
from matching.market_index import (
    MarketIndex,
    ProcessArrays,
    factories_by_id,
    first_open,
    index_of,
)
from matching.problem import (
    Option,
    OrderFacts,
    PriceTerm,
    Problem,
    ResourceFacts,
    StepFacts,
    Weights,
    run_rate,
)
from matching.reliability import risk_adjusted
from matching.solution import Solution
from scheduling.calendar import bookings_min, free_intervals, to_minute, windows_min
from scheduling.intervals import Interval, gaps


def resource_facts(resource: Resource, factory: Factory, bookings: Iterable[Booking],
                   scenario: Scenario) -> ResourceFacts:
    """Free intervals and fixed load of one resource (see ``ResourceFacts``)."""
    origin = scenario.horizon_start
    if resource.capacity <= 1:
        free = free_intervals(resource, bookings, origin)
        return ResourceFacts(resource.id, factory.id, 1, tuple(free),
                             tuple((s, e, 1) for s, e in gaps(free)))
    windows = windows_min(resource, origin)
    load = [(s, e, resource.capacity) for s, e in gaps(windows)]
    load += _booking_profile(bookings_min(bookings, origin), resource.capacity, windows)
    return ResourceFacts(resource.id, factory.id, resource.capacity, tuple(windows), tuple(load))


def _booking_profile(booked: list[Interval], capacity: int, windows: Sequence[Interval]
                     ) -> list[tuple[int, int, int]]:
    """Bookings of a service line as (start, end, slots taken) segments inside its ``windows``
    (normalized), capped at capacity.

    Outside the windows the line is blocked whole already (the gaps at full capacity), and a
    booking can lie there: a lot running late past its window holds the line on the shop
    floor. Counted on top of a gap it would ask the cumulative constraint for more than the
    line has, and CP-SAT would call the whole model infeasible, leaving the order to the
    greedy hint (43 of 930 calls on the 5-day benchmark cut, 2026-12-04).
    """
    events = sorted(ev for s, e in booked if e > s for ev in ((s, 1), (e, -1)))
    segments = []
    running = 0
    for (at, delta), (nxt, _) in itertools.pairwise(events):  # the last event is an end
        running += delta
        if running and nxt > at:
            segments.append((at, nxt, min(running, capacity)))
    out = []
    i = 0
    for a, b, n in segments:  # both sorted: clip each segment to the windows it overlaps
        while i < len(windows) and windows[i][1] <= a:
            i += 1
        j = i
        while j < len(windows) and windows[j][0] < b:
            s, e = max(a, windows[j][0]), min(b, windows[j][1])
            if e > s:
                out.append((s, e, n))
            j += 1
    return out


def price_terms(order: Order, resource: Resource, step: Step) -> tuple[PriceTerm, ...]:
    """The modes the order may pay on this resource, as linear fen terms (domain.pricing)."""
    p = resource.pricing
    terms = []
    if p.time_share_per_hour is not None:
        terms.append(PriceTerm(PricingMode.TIME_SHARE,
                               fen_per_min=round(p.time_share_per_hour * 100 / 60)))
    if p.per_piece is not None:
        terms.append(PriceTerm(PricingMode.PER_PIECE, fen_per_piece=round(p.per_piece * 100)))
    if p.by_value_pct is not None and order.value > 0:  # domain.pricing.offered_modes
        per_piece = p.by_value_pct / 100 * step_value_cny(order, step) / order.quantity
        terms.append(PriceTerm(PricingMode.BY_VALUE, fen_per_piece=round(per_piece * 100)))
    if order.pricing is not PricingMode.CHEAPEST:
        terms = [t for t in terms if t.mode is order.pricing]
    return tuple(terms)


def make_option(order: Order, step: Step, cand: Candidate) -> Option:
    num, den = run_rate(*minutes_per_piece_at_speed_1(cand.resource, step))
    return Option(cand.resource.id, cand.factory.id, lot_setup_min(cand.resource, step),
                  num, den, risk_adjusted(price_terms(order, cand.resource, step), cand.factory))


_Scored = tuple[Option, tuple[Interval, ...], list[int]]
# Before the exact look (free intervals, options), a rough score keeps this many times the
# final number of candidates: a market of 10,000 then costs a few hundred cheap scores per step.
SHORTLIST_FACTOR = 2


def _rough_cost(order: Order, step: Step, r: Resource, value_cny: float | None = None) -> float:
    """CNY for the whole quantity on ``r`` by its cheapest offered mode (floats, no windows).

    ``value_cny``: the step's share of the order value, when the caller has it already.
    """
    p, q = r.pricing, order.quantity
    best = math.inf
    if p.time_share_per_hour is not None:
        setup = r.setup_min if r.setup_min > step.setup_min else step.setup_min
        mpp, speed = minutes_per_piece_at_speed_1(r, step)
        best = p.time_share_per_hour / 60 * (setup + q * mpp / speed)
    if p.per_piece is not None and p.per_piece * q < best:
        best = p.per_piece * q
    if p.by_value_pct is not None and order.value > 0:  # domain.pricing.offered_modes
        value = step_value_cny(order, step) if value_cny is None else value_cny
        best = min(best, p.by_value_pct / 100 * value)
    return best


def _rough_hubs(capable: dict[str, list[Candidate]], max_factories: int) -> set[str]:
    """Factories able to run the most steps of the order (rough, before any window math)."""
    count: dict[str, int] = defaultdict(int)
    for cands in capable.values():
        for f in {c.factory.id for c in cands}:
            count[f] += 1
    ranked = heapq.nsmallest(2 * max(2, max_factories), count, key=lambda f: (-count[f], f))
    return {f for f in ranked if count[f] > 1}


def _rough_assigned(order: Order, by_id: dict[str, Step], capable: dict[str, list[Candidate]],
                    rough: dict[str, list[float]], scenario: Scenario) -> dict[str, list[str]]:
    """Per step, the roughly cheapest resources of the factories the best factory assignments
    give it (``factory_sets.best_assignments`` on rough prices and straight-line trucks).

    Pruning by price per step alone drops the hubs a tight ``max_factories`` needs; these
    resources are kept through the shortlist and (the best layouts' first) the final prune.
    ``rough``: each capable candidate's ``_rough_cost``, in the order of ``capable``.
    """
    cost: dict[str, dict[str, float]] = {}
    for sid, cands in capable.items():
        per: dict[str, float] = {}
        for c, price in zip(cands, rough[sid], strict=True):
            if price < per.get(c.factory.id, math.inf):
                per[c.factory.id] = price
        cost[sid] = per
    sites = {f.id: (f.lat, f.lon) for f in scenario.factories}
    t = scenario.transport

    def truck(f: str, g: str) -> float:
        return t.cost_cny(road_km(*sites[f], *sites[g]))

    steps = [(sid, by_id[sid].after) for sid in capable]
    wanted: dict[str, list[str]] = defaultdict(list)  # factories per step, best layout first
    for _, where in best_assignments(steps, cost, truck, order.max_factories, ROUGH_ASSIGNMENTS):
        for sid, f in where.items():
            if f not in wanted[sid]:
                wanted[sid].append(f)
    keep: dict[str, list[str]] = {}
    for sid, factories in wanted.items():
        inside: dict[str, list[tuple[float, str]]] = defaultdict(list)
        for c, price in zip(capable[sid], rough[sid], strict=True):
            if c.factory.id in factories:
                inside[c.factory.id].append((price, c.resource.id))
        keep[sid] = [rid for f in factories
                     for _, rid in heapq.nsmallest(PER_ASSIGNED, inside[f])]
    return keep


# Rough assignments whose resources are kept, and resources kept per (step, assigned
# factory): the roughly cheapest may have no room left.
ROUGH_ASSIGNMENTS = 12
PER_ASSIGNED = 2
ASSIGNED_IN_PRUNE = 3  # the least the final prune keeps of them


def shortlist(order: Order, step: Step, cands: list[Candidate], n: int,
              hubs: set[str], assigned: list[str] | None = None,
              rough: list[float] | None = None) -> list[Candidate]:
    """The n/2 roughly cheapest, the n/2 earliest-opening, every one in a hub factory and
    every ``assigned`` resource (``rough``: the candidates' rough costs, if known)."""
    prices = rough if rough is not None else [_rough_cost(order, step, c.resource)
                                             for c in cands]
    by_cost = [cands[i] for i in sorted(range(len(cands)), key=prices.__getitem__)]
    by_open = sorted(cands, key=lambda c: (c.resource.windows[0].start if c.resource.windows
                                           else order.due, c.resource.id))
    kept = {c.resource.id: c for c in by_cost[: n // 2] + by_open[: n // 2]}
    also = set(assigned or ())
    for c in cands:
        if c.factory.id in hubs or c.resource.id in also:
            kept.setdefault(c.resource.id, c)
    return list(kept.values())


def _hub_factories(scored: dict[str, list[_Scored]], max_factories: int) -> list[str]:
    """Factories that can run the most steps of the order (ties: cheaper first), a few of them.

    With max_factories below the number of steps, the kept candidates must include factories
    that host several steps, or pruning alone could make the order infeasible.
    """
    steps_of: dict[str, set[str]] = defaultdict(set)
    cost_in: dict[str, int] = defaultdict(int)
    for sid, items in scored.items():
        for opt, _, _ in items:
            steps_of[opt.factory].add(sid)
            cost_in[opt.factory] += opt.cost_fen(1)
    ranked = sorted(steps_of, key=lambda f: (-len(steps_of[f]), cost_in[f] / len(steps_of[f])))
    return [f for f in ranked[: max(2, max_factories)] if len(steps_of[f]) > 1]


def max_pieces(option: Option, length_min: int) -> int:
    """Most pieces one lot of ``option`` can hold in a free interval of ``length_min``."""
    room = length_min - option.setup_min
    return max(0, room * option.run_den // option.run_num) if option.run_num else 10**9


class _Builder:
    def __init__(self, scenario: Scenario, keep_per_step: int | None, max_lots: int,
                 processes: set[str] | None = None, layouts: bool = False) -> None:
        self.scenario = scenario
        self.layouts = layouts
        self.processes = processes
        self._index: CandidateIndex | None = None
        self.market = index_of(scenario)
        self.unavailable: frozenset[str] = getattr(scenario, "unavailable", frozenset())
        self.keep = keep_per_step
        self.max_lots = max_lots
        self.bookings: dict[str, list[Booking]] = defaultdict(list)
        for b in scenario.bookings:
            self.bookings[b.resource].append(b)
        self.facts: dict[str, ResourceFacts] = {}
        self.factories = factories_by_id(scenario)

    @property
    def index(self) -> CandidateIndex:
        """The per-scenario index of the exact path (built on first use: O(market))."""
        if self._index is None:
            self._index = CandidateIndex(self.scenario, self.processes)
        return self._index

    def facts_of(self, cand: Candidate) -> ResourceFacts:
        rid = cand.resource.id
        if rid not in self.facts:
            self.facts[rid] = resource_facts(cand.resource, cand.factory,
                                             self.bookings.get(rid, ()), self.scenario)
        return self.facts[rid]

    def order(self, order: Order) -> OrderFacts | str:
        """The order's facts, or the reason it cannot be met."""
        if self.market is not None and _indexable(order):
            fast = _Indexed(self, self.market, order).facts()
            if fast is not None:
                return fast
        return self.order_exact(order)

    def order_exact(self, order: Order) -> OrderFacts | str:
        """``order`` with every capable candidate looked at in Python (no market index)."""
        floor = max(1, min(order.min_lot, order.quantity))
        lots = max(1, min(self.max_lots, order.quantity // floor))
        by_id = {s.id: s for s in order.steps}
        scored: dict[str, list[_Scored]] = {}
        capable: dict[str, list[Candidate]] = {}
        for sid in topological_order(order.steps):
            found = self.index.capable(order, by_id[sid])
            capable[sid] = [c for c in found if by_id[sid].may_run_on(c.resource.id)]
            if found and not capable[sid]:
                return (f"no capable resource for step {sid} '{by_id[sid].process}' among "
                        f"the resources it may run on (only_on: {', '.join(by_id[sid].only_on)})")
            if not capable[sid]:
                return self.index.why_none(order, by_id[sid])
        rough_hubs = _rough_hubs(capable, order.max_factories)
        rough: dict[str, list[float]] = {}
        assigned: dict[str, list[str]] = {}
        if self.keep is not None and self.layouts:
            for sid, cands in capable.items():
                step, value = by_id[sid], step_value_cny(order, by_id[sid])
                rough[sid] = [_rough_cost(order, step, c.resource, value) for c in cands]
            assigned = _rough_assigned(order, by_id, capable, rough, self.scenario)
        for sid, cands in capable.items():
            step = by_id[sid]
            options: list[_Scored] | str = "no shortlist"
            if self.keep is not None and len(cands) > SHORTLIST_FACTOR * self.keep:
                short = shortlist(order, step, cands, SHORTLIST_FACTOR * self.keep, rough_hubs,
                                  assigned.get(sid), rough.get(sid))
                options = self.step_options(order, step, short, floor, lots)
            if isinstance(options, str):  # no shortlist, or it failed: look at every candidate
                options = self.step_options(order, step, cands, floor, lots)
            if isinstance(options, str):
                return options
            scored[sid] = options
        return self.finish(order, by_id, scored, lots, assigned)

    def finish(self, order: Order, by_id: dict[str, Step], scored: dict[str, list[_Scored]],
               lots: int, assigned: dict[str, list[str]]) -> OrderFacts:
        """Prune each step's scored options to the keep and assemble the order's facts."""
        hubs = _hub_factories(scored, order.max_factories)
        steps = []
        for sid, items in scored.items():
            step = by_id[sid]
            kept = ([o for o, _, _ in items] if self.keep is None or len(items) <= self.keep
                    else self.prune(order, items, lots, hubs, assigned.get(sid, [])))
            steps.append(StepFacts(step.id, step.process, step.after, tuple(kept)))
        due = to_minute(order.due, self.scenario.horizon_start)
        return OrderFacts(order.id, order.quantity, order.min_lot, order.max_factories, due,
                          tuple(steps))

    def step_options(self, order: Order, step: Step, cands: list[Candidate], floor: int,
                     lots: int) -> list[_Scored] | str:
        scored = []
        best_room = 0
        need_min = None
        for c in cands:
            opt = make_option(order, step, c)
            free = self.facts_of(c).free
            need = opt.duration_min(floor)
            need_min = need if need_min is None else min(need_min, need)
            rooms = sorted((max_pieces(opt, e - s) for s, e in free), reverse=True)
            best_room = max(best_room, rooms[0] if rooms else 0)
            if not rooms or rooms[0] < floor:
                continue
            scored.append((opt, free, rooms))
        label = f"step {step.id} '{step.process}'"
        if not any(self.facts_of(c).free for c in cands):
            return (f"no free window for {label}: the published windows of its {len(cands)} "
                    "capable resources are empty or fully booked")
        if not scored:
            return (f"no free window long enough for {label}: a lot of {floor} pieces needs at "
                    f"least {need_min} min, and none of the {len(cands)} capable resources has "
                    f"a free interval that long (largest lot that fits: {best_room} pieces)")
        # Upper bound on what `lots` lots can hold: the `lots` roomiest (resource, interval) pairs.
        roomiest = sorted((r for _, _, rooms in scored for r in rooms[:lots]), reverse=True)
        if sum(roomiest[:lots]) < order.quantity:
            return (f"not enough free capacity for {label}: at most {sum(roomiest[:lots])} of "
                    f"{order.quantity} pieces fit in {lots} lots (max lots per step) inside the "
                    f"free windows of {len(scored)} capable resources")
        return scored

    def prune(self, order: Order, scored: list[_Scored], lots: int,
              hubs: list[str], assigned: list[str]) -> list[Option]:
        """Keep the cheapest and the earliest-finishing few options, the best option in each
        hub factory (one that can do several steps, so max_factories stays reachable) and the
        first ``assigned`` ones that have room (the best factory assignments' resources, at
        most half the keep again)."""
        assert self.keep is not None
        share = math.ceil(order.quantity / lots)

        def finish(item: tuple[Option, tuple[Interval, ...], list[int]]) -> int:
            opt, free, _ = item
            for s, e in free:
                q = min(share, max_pieces(opt, e - s))
                if q >= max(1, min(order.min_lot, order.quantity)):
                    return s + opt.duration_min(q) + (share - q) * 10**6 // max(1, share)
            return 10**9

        by_cost = sorted(scored, key=lambda it: (it[0].cost_fen(share), finish(it)))
        by_finish = sorted(scored, key=lambda it: (finish(it), it[0].cost_fen(share)))
        half = max(1, self.keep // 2)
        roomy = {opt.resource: opt for opt, _, _ in scored}
        kept: dict[str, Option] = {}
        for rid in assigned:
            if rid in roomy and len(kept) < max(ASSIGNED_IN_PRUNE, self.keep // 2):
                kept[rid] = roomy[rid]
        for hub in hubs:
            best = next((it for it in by_cost if it[0].factory == hub), None)
            if best is not None:
                kept[best[0].resource] = best[0]
        for opt, _, _ in by_cost[:half] + by_finish[: self.keep - half]:
            kept[opt.resource] = opt
        for opt, _, _ in by_cost:  # top up when both lists agreed
            if len(kept) >= self.keep:
                break
            kept.setdefault(opt.resource, opt)
        return list(kept.values())


def build_problem(scenario: Scenario, *, order_ids: Iterable[str] | None = None,
                  keep_per_step: int | None = None, max_lots_per_step: int = 3,
                  layouts: bool = False) -> Problem:
    """Facts for the orders ``order_ids`` (all by default), refused ones with their reason.

    ``layouts``: pruning also keeps the resources of each order's best factory layouts
    (``factory_sets.best_assignments`` on rough prices). Quotes use it; batch solves do not:
    it costs ~10 ms per order at 10,000 resources and lengthens greedy's lists (a 20-order
    batch on 1,000 resources: greedy 0.3 -> 1.3 s).
    """
    wanted = set(order_ids) if order_ids is not None else None
    processes = {s.process for o in scenario.orders if wanted is None or o.id in wanted
                 for s in o.steps}
    b = _Builder(scenario, keep_per_step, max_lots_per_step, processes, layouts)
    orders: list[OrderFacts] = []
    refused: dict[str, str] = {}
    for order in scenario.orders:
        if wanted is not None and order.id not in wanted:
            continue
        facts = b.order(order)
        if isinstance(facts, str):
            refused[order.id] = facts
        else:
            orders.append(facts)
    used = {o.resource for of in orders for s in of.steps for o in s.options}
    resources = {rid: f for rid, f in b.facts.items() if rid in used}
    horizon = max([r.span()[1] for r in resources.values()] + [1])
    sited = {r.factory for r in resources.values()}
    return Problem(horizon=horizon, resources=resources, orders=tuple(orders),
                   weights=Weights.of(scenario.objective), max_lots_per_step=max_lots_per_step,
                   sites={f.id: (f.lat, f.lon) for f in scenario.factories if f.id in sited},
                   transport=scenario.transport, refused=refused)


def narrow(problem: Problem, keep: int, hints: Iterable[Solution]) -> Problem:
    """A smaller model of ``problem``: per step the resources the hints use, topped up with the
    cheapest others up to ``keep``. Greedy searches wide and cheaply; CP-SAT polishes narrow."""
    used = {(x.order, x.step, x.resource) for h in hints for x in h.lots}
    orders = []
    for o in problem.orders:
        steps = []
        for s in o.steps:
            share = math.ceil(o.quantity / problem.max_lots(o))
            mine = [x for x in s.options if (o.id, s.id, x.resource) in used]
            others = sorted((x for x in s.options if (o.id, s.id, x.resource) not in used),
                            key=lambda x: x.cost_fen(share))
            steps.append(dataclasses.replace(s, options=tuple(
                mine + others[: max(0, keep - len(mine))])))
        orders.append(dataclasses.replace(o, steps=tuple(steps)))
    kept = {x.resource for o in orders for s in o.steps for x in s.options}
    return dataclasses.replace(problem, orders=tuple(orders), resources={
        rid: f for rid, f in problem.resources.items() if rid in kept})


def _indexable(order: Order) -> bool:
    """Orders the market index serves exactly; the rest (credit floors, per-resource cycle
    times, ``only_on``) take the exact path, whose filters know them."""
    return order.min_credit is None and not any(s.only_on or s.minutes_per_piece_on
                                                for s in order.steps)


class _Indexed:
    """``_Builder.order_exact`` for one order on a ``MarketIndex``: the same filters, rough
    prices, hubs, rough assignments and shortlists, computed on arrays, with ``Candidate``
    objects made only for what the shortlist keeps. Same candidates, same order, so the
    same problem; ``facts`` answers None where the exact path must word a refusal."""

    def __init__(self, builder: _Builder, market: MarketIndex, order: Order) -> None:
        self.b = builder
        self.market = market
        self.order = order
        self.by_id = {s.id: s for s in order.steps}
        self.at: dict[str, npt.NDArray[np.int64]] = {}  # capable positions per step
        self.arrays: dict[str, ProcessArrays] = {}
        self.rough: dict[str, npt.NDArray[np.float64]] = {}

    def facts(self) -> OrderFacts | str | None:
        order, b = self.order, self.b
        floor = max(1, min(order.min_lot, order.quantity))
        lots = max(1, min(b.max_lots, order.quantity // floor))
        if not self.capable():
            return None
        for sid, at in self.at.items():
            self.rough[sid] = self.arrays[sid].rough_cost(order, self.by_id[sid], at)
        hubs = self.rough_hubs()
        assigned = self.rough_assigned() if b.keep is not None and b.layouts else {}
        scored: dict[str, list[_Scored]] = {}
        for sid, at in self.at.items():
            step = self.by_id[sid]
            options: list[_Scored] | str = "no shortlist"
            if b.keep is not None and len(at) > SHORTLIST_FACTOR * b.keep:
                short = self.shortlist(sid, SHORTLIST_FACTOR * b.keep, hubs, assigned.get(sid))
                options = b.step_options(order, step, self.candidates(sid, short), floor, lots)
            if isinstance(options, str):
                everyone = np.arange(len(at))
                options = b.step_options(order, step, self.candidates(sid, everyone), floor,
                                         lots)
            if isinstance(options, str):
                return options
            scored[sid] = options
        return b.finish(order, self.by_id, scored, lots, assigned)

    def capable(self) -> bool:
        """Each step's capable resources (``CandidateIndex.capable``); False if one has none."""
        order, market = self.order, self.market
        factory_ok = np.ones(len(market.factories), dtype=bool)
        if order.certifications:
            factory_ok &= market.certified(order.certifications)
        if order.parks:
            factory_ok &= market.in_parks(order.parks)
        for sid in topological_order(order.steps):
            arrays = market.processes.get(self.by_id[sid].process)
            if arrays is None:
                return False
            mask = arrays.accepts(order.material) & arrays.offers(order)
            mask &= factory_ok[arrays.factory]
            for rid in self.b.unavailable:
                i = arrays.position.get(rid)
                if i is not None:
                    mask[i] = False
            at = np.flatnonzero(mask)
            if not len(at):
                return False
            self.at[sid], self.arrays[sid] = at, arrays
        return True

    def _factories(self, sid: str) -> npt.NDArray[np.int64]:
        return self.arrays[sid].factory[self.at[sid]]

    def rough_hubs(self) -> set[str]:
        """``_rough_hubs``: the factories able to run the most steps, a few of them."""
        count = np.zeros(len(self.market.factories), dtype=np.int64)
        for sid in self.at:
            count[np.unique(self._factories(sid))] += 1
        many = np.flatnonzero(count > 1)
        ranked = many[np.lexsort((self.market.factory_rank[many], -count[many]))]
        return {self.market.factory_ids[i]
                for i in ranked[: 2 * max(2, self.order.max_factories)]}

    def rough_assigned(self) -> dict[str, list[str]]:
        """``_rough_assigned``, with ``best_assignments`` given only the factories that can
        be one of a group's ``HOSTS_PER_GROUP`` best hosts (the others it never looks at)."""
        market, order = self.market, self.order
        sids = list(self.at)
        if len(sids) > MAX_EXACT_STEPS:
            return {}  # best_assignments gives none either
        cheapest = np.full((len(sids), len(market.factories)), math.inf)
        for k, sid in enumerate(sids):
            np.minimum.at(cheapest[k], self._factories(sid), self.rough[sid])
        rank = market.factory_rank
        wanted_hosts: set[int] = set()
        for size in range(1, len(sids) + 1):
            for group in itertools.combinations(range(len(sids)), size):
                total = cheapest[group[0]].copy()
                for k in group[1:]:
                    total += cheapest[k]  # the order best_assignments sums a block in
                able = np.flatnonzero(np.isfinite(total))
                best = able[np.lexsort((rank[able], total[able]))][:HOSTS_PER_GROUP]
                wanted_hosts.update(best.tolist())
        hosts = sorted(wanted_hosts)
        ids = [market.factory_ids[f] for f in hosts]
        cost = {sid: {fid: c for fid, c in zip(ids, cheapest[k, hosts].tolist(), strict=True)
                      if math.isfinite(c)} for k, sid in enumerate(sids)}
        sites = {f.id: (f.lat, f.lon) for f in self.b.scenario.factories}
        t = self.b.scenario.transport

        def truck(f: str, g: str) -> float:
            return t.cost_cny(road_km(*sites[f], *sites[g]))

        steps = [(sid, self.by_id[sid].after) for sid in sids]
        wanted: dict[str, list[str]] = defaultdict(list)
        for _, where in best_assignments(steps, cost, truck, order.max_factories,
                                         ROUGH_ASSIGNMENTS):
            for sid, f in where.items():
                if f not in wanted[sid]:
                    wanted[sid].append(f)
        keep: dict[str, list[str]] = {}
        for sid, factories in wanted.items():
            arrays, at, here = self.arrays[sid], self.at[sid], self._factories(sid)
            keep[sid] = []
            for fid in factories:
                inside = np.flatnonzero(here == market.factory_at[fid])
                keep[sid] += [rid for _, rid in heapq.nsmallest(PER_ASSIGNED, (
                    (float(self.rough[sid][j]), arrays.ids[at[j]]) for j in inside))]
        return keep

    def shortlist(self, sid: str, n: int, hubs: set[str],
                  assigned: list[str] | None) -> npt.NDArray[np.int64]:
        """``shortlist``'s picks (positions among the step's capable), in its order."""
        arrays, at = self.arrays[sid], self.at[sid]
        by_cost = np.argsort(self.rough[sid], kind="stable")[: n // 2]
        opens = first_open(arrays, at, self.order.due)
        by_open = np.lexsort((arrays.id_rank[at], opens))[: n // 2]
        also = np.zeros(len(at), dtype=bool)
        if hubs:
            hub_at = [self.market.factory_at[f] for f in hubs]
            also |= np.isin(arrays.factory[at], hub_at)
        for rid in assigned or ():
            g = arrays.position.get(rid)
            j = int(np.searchsorted(at, g)) if g is not None else len(at)
            if j < len(at) and at[j] == g:
                also[j] = True
        picked = dict.fromkeys([*by_cost.tolist(), *by_open.tolist(),
                                *np.flatnonzero(also).tolist()])
        return np.fromiter(picked, dtype=np.int64, count=len(picked))

    def candidates(self, sid: str, local: npt.NDArray[np.int64]) -> list[Candidate]:
        arrays, market, factories = self.arrays[sid], self.market, self.b.factories
        out = []
        for g in self.at[sid][local].tolist():
            out.append(Candidate(factories[market.factory_ids[arrays.factory[g]]],
                                 arrays.resources[g]))
        return out
