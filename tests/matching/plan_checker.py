"""An independent checker of plans (docs/formats.md#plan); it deliberately imports nothing from
matching.

It re-derives every rule from the design text: quantities per step, capability, windows and
bookings, capacity, precedence with transport, max_factories, min_lot, lot durations and prices
(the engine's documented choices: a lot's setup is the longer of resource and step setup; a
truck per factory pair and step pair leaves when the last lot there is done).
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime

from domain.model import (
    Booking,
    Factory,
    Order,
    OrderPlan,
    OrderStatus,
    Plan,
    Resource,
    Scenario,
    Step,
)


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60.0


def _road_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return round(2 * 6371.0088 * math.asin(math.sqrt(h)) * 1.3, 1)


def _duration(resource: Resource, step: Step, q: int) -> int:
    """Setup + ceil(q * mpp / speed); a step's own cycle time on the resource replaces
    mpp / speed (docs/formats.md, extension)."""
    own = dict(step.minutes_per_piece_on).get(resource.id)
    run = q * step.minutes_per_piece / resource.speed if own is None else q * own
    return max(resource.setup_min, step.setup_min) + math.ceil(round(run, 6))


def _prices(resource: Resource, order: Order, step_id: str, q: int,
            minutes: int) -> dict[str, float]:
    p, out = resource.pricing, {}
    if p.time_share_per_hour is not None:
        out["time_share"] = p.time_share_per_hour * minutes / 60
    if p.per_piece is not None:
        out["per_piece"] = p.per_piece * q
    if p.by_value_pct is not None:
        total = sum(s.minutes_per_piece for s in order.steps)
        share = order.step(step_id).minutes_per_piece / total if total else 1 / len(order.steps)
        out["by_value"] = p.by_value_pct / 100 * order.value * share * q / order.quantity
    return out


def check_plan(scenario: Scenario, plan: Plan, *, max_lots: int | None = None) -> list[str]:
    """Every violated rule as a sentence; an empty list means the plan is valid."""
    errors: list[str] = []
    res = {r.id: (f, r) for f in scenario.factories for r in f.resources}
    origin = scenario.horizon_start
    ids = [o.id for o in plan.orders]
    if sorted(ids) != sorted(o.id for o in scenario.orders):
        errors.append(f"plan orders {ids} differ from scenario orders")
    usage: dict[str, list[tuple[float, float]]] = defaultdict(list)  # the plan's lots
    orders = {o.id: o for o in scenario.orders}
    bookings_of: dict[str, list[Booking]] = defaultdict(list)  # a market holds thousands
    for b in scenario.bookings:
        bookings_of[b.resource].append(b)
    for op in plan.orders:
        if op.id in orders:
            errors += _check_order(scenario, orders[op.id], op, res, usage, max_lots,
                                   bookings_of)
    booked: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for b in scenario.bookings:
        booked[b.resource].append((_minutes(origin, b.start), _minutes(origin, b.end)))
    for rid, spans in usage.items():
        errors += _check_capacity(rid, res[rid][1].capacity, spans, booked.get(rid, []))
    return errors


def _check_capacity(rid: str, capacity: int, lots: list[tuple[float, float]],
                    booked: list[tuple[float, float]]) -> list[str]:
    """No instant where the plan's lots and the bookings together exceed ``capacity``, unless
    the plan has no lot there.

    The bookings alone may already exceed it: a simulation's snapshot holds the lots running
    late on the shop floor beside the lots planned after them. That is not the plan's doing; a
    plan must only keep its own lots out of every instant that is full.
    """
    events = sorted([(s, 0, 1) for s, _ in lots] + [(e, 0, -1) for _, e in lots]
                    + [(s, 1, 1) for s, _ in booked] + [(e, 1, -1) for _, e in booked],
                    key=lambda ev: (ev[0], ev[2]))  # ends before starts at the same minute
    running = [0, 0]  # lots, bookings
    for i, (t, kind, d) in enumerate(events):
        running[kind] += d
        if i + 1 < len(events) and events[i + 1][0] == t:
            continue  # judge each instant once all its events are in
        if running[0] and sum(running) > capacity:
            return [f"resource {rid} runs more than {capacity} lots/bookings at once "
                    f"(minute {t:g}: {running[0]} lots of the plan, {running[1]} bookings)"]
    return []


def _stretches(r: Resource) -> list[tuple[datetime, datetime]]:
    """The resource's windows with touching or overlapping ones joined: a lot may run from one
    window into the next that starts as it ends (docs/formats.md; scheduling.booking.book
    commits such lots, as the engine plans them)."""
    out: list[tuple[datetime, datetime]] = []
    for w in sorted(r.windows, key=lambda w: w.start):
        if out and w.start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], w.end))
        else:
            out.append((w.start, w.end))
    return out


def _check_order(scenario: Scenario, order: Order, op: OrderPlan,
                 res: dict[str, tuple[Factory, Resource]],
                 usage: dict[str, list[tuple[float, float]]], max_lots: int | None,
                 bookings_of: dict[str, list[Booking]]) -> list[str]:
    errors: list[str] = []
    origin = scenario.horizon_start
    if op.status is OrderStatus.UNMATCHED:
        if not op.reason:
            errors.append(f"{order.id}: unmatched without a reason")
        if op.allocations:
            errors.append(f"{order.id}: unmatched but has allocations")
        return errors
    factories = {f.id: f for f in scenario.factories}
    floor = max(1, min(order.min_lot, order.quantity))
    by_step = defaultdict(list)
    steps = {s.id for s in order.steps}
    for a in op.allocations:
        tag = f"{order.id}/{a.step} on {a.resource}"
        if a.resource not in res or a.factory not in factories or a.step not in steps:
            # a plan naming what the market does not have is broken, not a checker crash
            errors.append(f"{tag}: unknown " + ", ".join(
                what for what, known in (("resource", a.resource in res),
                                         (f"factory {a.factory}", a.factory in factories),
                                         ("step", a.step in steps)) if not known))
            continue
        by_step[a.step].append(a)
        f, r = res[a.resource]
        fac = factories[a.factory]
        s = order.step(a.step)
        if fac.id != f.id:
            errors.append(f"{tag}: factory {a.factory} does not own the resource")
        if r.process != s.process:
            errors.append(f"{tag}: resource does {r.process}, step needs {s.process}")
        if s.only_on and r.id not in s.only_on:
            errors.append(f"{tag}: step may only run on {', '.join(s.only_on)}")
        if r.materials and order.material not in r.materials:
            errors.append(f"{tag}: resource cannot work {order.material}")
        if not set(order.certifications) <= set(fac.certifications):
            errors.append(f"{tag}: factory lacks certifications")
        if order.parks and fac.park not in order.parks:
            errors.append(f"{tag}: factory outside the order's parks")
        if a.quantity < floor:
            errors.append(f"{tag}: lot of {a.quantity} below min_lot {floor}")
        start, end = _minutes(origin, a.start), _minutes(origin, a.end)
        want = _duration(r, s, a.quantity)
        if abs((end - start) - want) > 1e-6:
            errors.append(f"{tag}: lasts {end - start} min, rule says {want}")
        if not any(lo <= a.start and a.end <= hi for lo, hi in _stretches(r)):
            errors.append(f"{tag}: not inside one published window")
        if r.capacity == 1:
            for b in bookings_of.get(r.id, ()):
                if b.start < a.end and a.start < b.end:
                    errors.append(f"{tag}: overlaps booking {b.id}")
        usage[r.id].append((start, end))
        prices = _prices(r, order, a.step, a.quantity, want)
        mode = a.pricing.value
        if mode not in prices:
            errors.append(f"{tag}: resource does not offer {mode}")
        else:
            if abs(prices[mode] - a.cost) > 0.011:
                errors.append(f"{tag}: cost {a.cost} but {mode} gives {prices[mode]:.2f}")
            if order.pricing.value == "cheapest" and prices[mode] > min(prices.values()) + 0.011:
                errors.append(f"{tag}: {mode} is not the resource's cheapest mode")
            if order.pricing.value != "cheapest" and mode != order.pricing.value:
                errors.append(f"{tag}: priced {mode}, order asks {order.pricing.value}")
    for s in order.steps:
        total = sum(a.quantity for a in by_step[s.id])
        if total != order.quantity:
            errors.append(f"{order.id}/{s.id}: lots sum to {total}, order is {order.quantity}")
        if max_lots is not None and len(by_step[s.id]) > max_lots:
            errors.append(f"{order.id}/{s.id}: {len(by_step[s.id])} lots > {max_lots}")
    used = {a.factory for a in op.allocations}
    if len(used) > order.max_factories:
        errors.append(f"{order.id}: {len(used)} factories > max_factories {order.max_factories}")
    errors += _check_transport(scenario, order, op, by_step)
    ends = [a.end for a in op.allocations]
    if op.completion != max(ends):
        errors.append(f"{order.id}: completion {op.completion} is not the last lot end")
    late = max(0.0, _minutes(order.due, max(ends)))
    if abs(op.lateness_min - late) > 1e-6:
        errors.append(f"{order.id}: lateness {op.lateness_min} min, expected {late}")
    total_cost = sum(a.cost for a in op.allocations) + sum(t.cost for t in op.transports)
    if abs(total_cost - op.total_cost) > 0.011:
        errors.append(f"{order.id}: total {op.total_cost} but parts add to {total_cost:.2f}")
    return errors


def _check_transport(scenario: Scenario, order: Order, op: OrderPlan,
                     by_step: dict[str, list]) -> list[str]:  # type: ignore[type-arg]
    errors = []
    t = scenario.transport
    factories = {f.id: f for f in scenario.factories}
    legs = {(x.from_factory, x.to_factory, x.after_step, x.before_step): x for x in op.transports}
    needed = set()
    for s in order.steps:
        for p in s.after:
            for a in by_step[p]:
                for b in by_step[s.id]:
                    if a.factory == b.factory:
                        if b.start < a.end:
                            errors.append(f"{order.id}: {s.id} lot starts before {p} lot ends")
                        continue
                    key = (a.factory, b.factory, p, s.id)
                    needed.add(key)
                    leg = legs.get(key)
                    if leg is None:
                        errors.append(f"{order.id}: no transport {key}")
                        continue
                    fa, fb = factories[a.factory], factories[b.factory]
                    km = _road_km(fa.lat, fa.lon, fb.lat, fb.lon)
                    travel = t.handling_min + math.ceil(km / t.speed_kmh * 60) if km > 0 else 0
                    if abs(leg.km - km) > 0.051:
                        errors.append(f"{order.id}: leg {key} says {leg.km} km, not {km}")
                    if leg.depart < a.end:
                        errors.append(f"{order.id}: leg {key} departs before its lot ends")
                    if _minutes(leg.depart, leg.arrive) < travel - 1e-6:
                        errors.append(f"{order.id}: leg {key} faster than {travel} min")
                    if b.start < leg.arrive:
                        errors.append(f"{order.id}: {s.id} lot starts before the truck arrives")
                    if abs(leg.cost - round(km * t.cost_per_km, 2)) > 0.011:
                        errors.append(f"{order.id}: leg {key} cost {leg.cost}")
    for key in legs:
        if key not in needed:
            errors.append(f"{order.id}: transport {key} carries nothing")
    return errors
