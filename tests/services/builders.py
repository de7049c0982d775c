"""Builders of scenario documents (docs/formats.md) for the service tests (canonical forms: they
round-trip).
"""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from domain.processes import PROCESSES
from domain.schemas import format_utc

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scenario.json"
START = datetime(2026, 12, 1, tzinfo=UTC)


def example() -> dict[str, Any]:
    return copy.deepcopy(json.loads(EXAMPLE.read_text(encoding="utf-8")))


def _t(hours: float) -> str:
    return format_utc(START + timedelta(hours=hours))


def factory(fid: str = "FX", park: str = "P9", resources: list[dict[str, Any]] | None = None,
            **over: Any) -> dict[str, Any]:
    doc = {"id": fid, "name": f"Factory {fid}", "park": park, "lat": 31.3, "lon": 120.6,
           "rating": 4.0, "certifications": ["ISO9001"],
           "resources": resources if resources is not None else [resource(f"{fid}-R1")]}
    doc.update(over)
    return doc


def resource(rid: str, process: str = "machining.cnc_milling", capacity: int = 1,
             windows: list[tuple[float, float]] | None = None, **over: Any) -> dict[str, Any]:
    doc = {"id": rid, "process": process, "capacity": capacity, "materials": ["al6061"],
           "speed": 1.0, "setup_min": 0,
           "pricing": {"time_share_per_hour": 100.0, "per_piece": None, "by_value_pct": None},
           "windows": [{"start": _t(a), "end": _t(b)} for a, b in (windows or [(8, 20)])]}
    doc.update(over)
    return doc


def order(oid: str = "OX", steps: list[dict[str, Any]] | None = None, **over: Any
          ) -> dict[str, Any]:
    doc = {"id": oid, "customer": "C1", "material": "al6061", "quantity": 10,
           "due": _t(72), "value": 1000.0, "pricing": "cheapest", "max_factories": 3,
           "min_lot": 1,
           "steps": steps if steps is not None else [step("s1")]}
    doc.update(over)
    return doc


def step(sid: str, process: str = "machining.cnc_milling", minutes_per_piece: float = 1.0,
         after: list[str] | None = None) -> dict[str, Any]:
    return {"id": sid, "process": process, "minutes_per_piece": minutes_per_piece,
            "setup_min": 0, "after": after or []}


def generated_scenario(n_factories: int = 50, n_orders: int = 20, seed: int = 1
                       ) -> dict[str, Any]:
    """A random but valid scenario market in canonical form, with extension fields."""
    rng = random.Random(seed)
    codes = sorted(PROCESSES)
    factories: list[dict[str, Any]] = []
    for i in range(n_factories):
        fid = f"F{i:03d}"
        resources: list[dict[str, Any]] = []
        for j in range(rng.randint(1, 5)):
            windows, t = [], rng.randint(0, 12)
            for _ in range(rng.randint(0, 4)):
                length = rng.randint(1, 14)
                windows.append((t, t + length))
                t += length + rng.randint(1, 12)
            resources.append({
                "id": f"{fid}-R{j}", "process": rng.choice(codes),
                "capacity": rng.choice([1, 1, 1, 2, 4]),
                "materials": rng.sample(["al6061", "steel45", "ss304", "abs", "cotton"],
                                        k=rng.randint(0, 3)),
                "speed": round(rng.uniform(0.5, 2.0), 3), "setup_min": rng.randint(0, 90),
                "pricing": {"time_share_per_hour": round(rng.uniform(20, 300), 2),
                            "per_piece": rng.choice([None, round(rng.uniform(0.1, 20), 2)]),
                            "by_value_pct": rng.choice([None, 5.5, 12.0])},
                "windows": [{"start": _t(a), "end": _t(b)} for a, b in windows],
            })
        factories.append({
            "id": fid, "name": f"工厂 {i} Works", "park": rng.choice(["P-NB", "P-SZ", "P-HZ"]),
            "lat": round(rng.uniform(29.5, 31.8), 5), "lon": round(rng.uniform(119.5, 122.0), 5),
            "rating": round(rng.uniform(0, 5), 1),
            "certifications": rng.sample(["ISO9001", "IATF16949", "AS9100"], k=rng.randint(0, 2)),
            "resources": resources,
        })
    orders = []
    for k in range(n_orders):
        n_steps = rng.randint(1, 4)
        steps = [{"id": f"s{n}", "process": rng.choice(codes),
                  "minutes_per_piece": round(rng.uniform(0.05, 10), 3),
                  "setup_min": rng.randint(0, 60),
                  "after": [f"s{n - 1}"] if n else []} for n in range(n_steps)]
        o: dict[str, Any] = {
            "id": f"O{k:03d}", "customer": f"C{rng.randint(1, 9)}",
            "material": rng.choice(["al6061", "steel45"]), "quantity": rng.randint(1, 5000),
            "due": _t(rng.randint(24, 240)), "value": round(rng.uniform(0, 1e5), 2),
            "pricing": rng.choice(["time_share", "per_piece", "by_value", "cheapest"]),
            "max_factories": rng.randint(1, 5), "min_lot": 1, "steps": steps}
        if k % 3 == 0:
            o["certifications"] = ["ISO9001"]
            o["parks"] = ["P-NB"]
        orders.append(o)
    first = factories[0]["resources"][0]["id"]
    return {
        "horizon_start": format_utc(START),
        "transport": {"cost_per_km": 2.5, "speed_kmh": 45.0, "handling_min": 20},
        "factories": factories, "orders": orders,
        "objective": {"cost": 1.0, "tardiness_per_hour": 80.0, "makespan_per_hour": 5.0},
        "bookings": [{"id": "B-EXT-1", "resource": first, "start": _t(300), "end": _t(302),
                      "order": "O000", "step": "s0", "quantity": 5}],
    }
