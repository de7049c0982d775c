"""Builders for small hand-made markets: times in hours from T0, everything else defaulted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.model import (
    Booking,
    Factory,
    Objective,
    Order,
    Pricing,
    PricingMode,
    Resource,
    Scenario,
    Step,
    Transport,
    Window,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def window(start_h: float, end_h: float) -> Window:
    return Window(at(start_h), at(end_h))


def resource(rid: str, process: str = "machining.cnc_milling", *, capacity: int = 1,
             materials: tuple[str, ...] = ("al6061",), speed: float = 1.0, setup_min: int = 0,
             rate: float | None = 60.0, per_piece: float | None = None,
             by_value_pct: float | None = None,
             windows: tuple[tuple[float, float], ...] = ((0, 48),)) -> Resource:
    return Resource(rid, process, capacity, materials, speed, setup_min,
                    Pricing(rate, per_piece, by_value_pct),
                    tuple(window(s, e) for s, e in windows))


def factory(fid: str, *resources: Resource, lat: float = 30.0, lon: float = 120.0,
            park: str = "P1", certifications: tuple[str, ...] = ("ISO9001",)) -> Factory:
    return Factory(fid, f"factory {fid}", park, lat, lon, 4.0, certifications, resources)


def step(sid: str, process: str = "machining.cnc_milling", *, mpp: float = 1.0,
         setup_min: int = 0, after: tuple[str, ...] = ()) -> Step:
    return Step(sid, process, mpp, setup_min, after)


def order(oid: str, *steps: Step, quantity: int = 60, due_h: float = 48.0,
          value: float = 10000.0, pricing: PricingMode = PricingMode.CHEAPEST,
          max_factories: int = 3, min_lot: int = 1, material: str = "al6061",
          certifications: tuple[str, ...] = (), parks: tuple[str, ...] = ()) -> Order:
    return Order(oid, "C1", material, quantity, at(due_h), value,
                 steps or (step("s1"),), pricing, max_factories, min_lot, certifications, parks)


def booking(bid: str, rid: str, start_h: float, end_h: float) -> Booking:
    return Booking(bid, rid, at(start_h), at(end_h))


def scenario(factories: list[Factory], orders: list[Order], *,
             bookings: tuple[Booking, ...] = (), tardiness_per_hour: float = 50.0,
             makespan_per_hour: float = 0.0, cost: float = 1.0,
             late_order_penalty: float = 0.0) -> Scenario:
    return Scenario(T0, tuple(factories), tuple(orders),
                    Transport(cost_per_km=3.0, speed_kmh=40.0, handling_min=30),
                    Objective(cost, tardiness_per_hour, makespan_per_hour, late_order_penalty),
                    bookings)
