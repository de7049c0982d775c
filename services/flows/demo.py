"""The demo park of ``sharefab serve --demo``: factories near Ningbo and Suzhou, their machines
and service lines with idle windows over the next days, and a few customer orders.

Seeding is idempotent (a second start finds the demo factories and adds nothing) and
repeatable (a fixed random seed): the same park every time, windows re-anchored to today.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from domain.schemas import FactoryIn, OrderIn, PricingIn, ResourceIn, StepIn, WindowIn
from services.core.db import session_scope
from services.factories import service as factory_service
from services.orders import service as order_service
from services.parks import service as park_service
from services.parks.models import ParkCreate

# (process, capacity, materials, time_share_per_hour, per_piece) per shop profile. Prices are
# plausible Yangtze-delta job-shop rates in CNY, not quotes from a real supplier.
_AL, _ST, _SS = "al6061", "steel45", "ss304"
PROFILES: dict[str, list[tuple[str, int, list[str], float, float | None]]] = {
    "machining": [("cutting.saw", 1, [_AL, _ST, _SS], 60, 0.8),
                  ("machining.cnc_milling", 1, [_AL, _ST], 120, 6.5),
                  ("machining.cnc_milling", 1, [_AL, _ST, _SS], 135, 7.0),
                  ("machining.cnc_turning", 1, [_AL, _ST, _SS], 100, 4.0),
                  ("machining.drilling", 1, [_AL, _ST], 70, 1.5)],
    "sheet_metal": [("cutting.laser", 1, [_ST, _SS, _AL], 90, 1.2),
                    ("forming.bending", 1, [_ST, _SS, _AL], 80, 1.0),
                    ("forming.stamping", 1, [_ST, _AL], 110, 0.6),
                    ("welding.mig", 2, [_ST, _SS], 75, 3.0),
                    ("surface.powder_coating", 3, [_ST, _AL], 65, 2.0)],
    "surface": [("surface.anodizing", 4, [_AL], 60, 0.8),
                ("surface.electroplating", 3, [_ST], 70, 1.1),
                ("surface.sandblasting", 1, [_AL, _ST, _SS], 55, 0.7),
                ("surface.polishing", 2, [_AL, _SS], 50, 1.5)],
    "precision": [("machining.five_axis", 1, [_AL, _ST, _SS], 260, None),
                  ("machining.grinding", 1, [_ST, _SS], 140, 5.0),
                  ("machining.edm", 1, [_ST], 160, None),
                  ("inspection.cmm", 1, [], 150, 12.0)],
    "molding": [("molding.injection", 1, ["pp", "abs", "pa66"], 95, 0.35),
                ("molding.injection", 1, ["pp", "abs"], 85, 0.30),
                ("molding.die_casting", 1, [_AL, "zamak"], 180, 2.2),
                ("assembly.packaging", 4, [], 40, 0.2)],
    "electronics": [("electronics.smt", 1, ["fr4"], 220, 0.9),
                    ("electronics.wave_soldering", 1, ["fr4"], 130, 0.5),
                    ("electronics.testing", 2, ["fr4"], 90, 1.0),
                    ("assembly.manual", 6, [], 45, 1.8)],
    "heat": [("heat.quenching", 6, [_ST], 80, 0.9),
             ("heat.annealing", 6, [_ST, _SS, _AL], 70, 0.7),
             ("heat.carburizing", 4, [_ST], 95, 1.4),
             ("inspection.ndt", 1, [_ST, _SS], 120, 6.0)],
    "textile": [("textile.cutting", 1, ["cotton", "polyester"], 60, 0.4),
                ("textile.sewing", 10, ["cotton", "polyester"], 35, 2.5),
                ("textile.printing", 1, ["cotton", "polyester"], 75, 0.9),
                ("inspection.visual", 2, [], 40, 0.3)],
    "additive": [("additive.fdm", 4, ["pla", "abs"], 30, None),
                 ("additive.sla", 2, ["resin"], 60, None),
                 ("additive.slm", 1, [_SS, "ti6al4v"], 400, None),
                 ("design.cad", 2, [], 200, None)],
    "logistics": [("logistics.warehousing", 10, [], 25, 0.1),
                  ("logistics.kitting", 4, [], 35, 0.3),
                  ("assembly.automated", 1, [], 150, 0.6),
                  ("inspection.visual", 3, [], 40, 0.3)],
}

# (park id, park name, city, centre lat, lon, factories as (name, profile)).
PARKS = [
    ("NB-HT", "Ningbo Hi-Tech Zone shared factory park", "Ningbo", 29.87, 121.55, [
        ("Ningbo Precision", "machining"), ("Beilun Sheet Metal", "sheet_metal"),
        ("Yinzhou Anodizing", "surface"), ("Zhenhai Five-Axis", "precision"),
        ("Cixi Molding", "molding"), ("Yuyao Mould & Die", "molding"),
        ("Ningbo Heat Treatment", "heat"), ("Jiangbei Machining", "machining"),
        ("Fenghua Garments", "textile"), ("Ningbo PCB Assembly", "electronics"),
        ("Beilun Logistics Hub", "logistics"), ("Haishu Fab Shop", "sheet_metal"),
    ]),
    ("SZ-SIP", "Suzhou Industrial Park shared manufacturing centre", "Suzhou", 31.30, 120.62, [
        ("SIP Electronics", "electronics"), ("Wuzhong Machining", "machining"),
        ("Kunshan Sheet Metal", "sheet_metal"), ("Wujiang Textile", "textile"),
        ("Suzhou Plating", "surface"), ("Xiangcheng Precision", "precision"),
        ("SIP Additive Lab", "additive"), ("Taicang Heat Works", "heat"),
        ("Changshu Injection", "molding"), ("Suzhou Kitting Centre", "logistics"),
        ("Huqiu Machining", "machining"), ("Kunshan EMS", "electronics"),
    ]),
]


def demo_factories(now: datetime, days: int = 5, seed: int = 7) -> list[FactoryIn]:
    """The demo factories with idle windows for ``days`` days from today (UTC)."""
    rng = random.Random(seed)
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for park_id, _name, _city, lat0, lon0, shops in PARKS:
        for i, (name, profile) in enumerate(shops, start=1):
            fid = f"{park_id}-F{i:02d}"
            resources = []
            for j, (process, cap, mats, hourly, piece) in enumerate(PROFILES[profile], start=1):
                resources.append(ResourceIn(
                    id=f"{fid}-R{j:02d}", process=process, capacity=cap, materials=mats,
                    speed=round(rng.uniform(0.8, 1.3), 2), setup_min=rng.choice([10, 20, 30, 45]),
                    pricing=PricingIn(time_share_per_hour=round(hourly * rng.uniform(0.9, 1.1), 1),
                                      per_piece=round(piece * rng.uniform(0.9, 1.1), 2)
                                      if piece is not None else None,
                                      by_value_pct=rng.choice([None, None, 8.0, 12.0])),
                    windows=_windows(rng, today, days)))
            out.append(FactoryIn(
                id=fid, name=name, park=park_id, lat=round(lat0 + rng.uniform(-0.08, 0.08), 4),
                lon=round(lon0 + rng.uniform(-0.08, 0.08), 4),
                rating=round(rng.uniform(3.8, 4.9), 1),
                certifications=rng.sample(["ISO9001", "ISO14001", "IATF16949", "AS9100"],
                                          k=rng.randint(1, 2)),
                resources=resources))
    return out


def _windows(rng: random.Random, today: datetime, days: int) -> list[WindowIn]:
    # Idle time is mostly the second shift and nights (China time = UTC+8): shops publish what
    # their own orders leave free, so the day shift is often taken.
    out = []
    for d in range(days):
        day = today + timedelta(days=d)
        if rng.random() < 0.15:
            continue
        start_h = rng.choice([0, 2, 6, 8, 10])
        length_h = rng.choice([6, 8, 10, 12, 14])
        out.append(WindowIn(start=day + timedelta(hours=start_h),
                            end=day + timedelta(hours=start_h + length_h)))
    return out


def demo_orders(now: datetime) -> list[OrderIn]:
    due = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=4)
    return [
        OrderIn(id="DEMO-O1", customer="C-Yongjia-Valves", material="al6061", quantity=300,
                due=due, value=24000.0, min_lot=50, steps=[
                    StepIn(id="cut", process="cutting.saw", minutes_per_piece=0.5, setup_min=20),
                    StepIn(id="mill", process="machining.cnc_milling", minutes_per_piece=4.0,
                           setup_min=30, after=["cut"]),
                    StepIn(id="anodize", process="surface.anodizing", minutes_per_piece=0.2,
                           setup_min=30, after=["mill"])]),
        OrderIn(id="DEMO-O2", customer="C-Hangzhou-Robotics", material="steel45", quantity=120,
                due=due + timedelta(days=1), value=18000.0, steps=[
                    StepIn(id="laser", process="cutting.laser", minutes_per_piece=1.0),
                    StepIn(id="bend", process="forming.bending", minutes_per_piece=1.5,
                           after=["laser"]),
                    StepIn(id="weld", process="welding.mig", minutes_per_piece=6.0,
                           after=["bend"]),
                    StepIn(id="coat", process="surface.powder_coating", minutes_per_piece=0.8,
                           after=["weld"])]),
        OrderIn(id="DEMO-O3", customer="C-Shanghai-IoT", material="fr4", quantity=1000,
                due=due + timedelta(days=2), value=50000.0, min_lot=100, steps=[
                    StepIn(id="smt", process="electronics.smt", minutes_per_piece=0.3,
                           setup_min=60),
                    StepIn(id="test", process="electronics.testing", minutes_per_piece=0.5,
                           after=["smt"]),
                    StepIn(id="pack", process="assembly.manual", minutes_per_piece=0.4,
                           after=["test"])]),
        OrderIn(id="DEMO-O4", customer="C-Shaoxing-Apparel", material="cotton", quantity=800,
                due=due + timedelta(days=1), value=32000.0, pricing="per_piece", steps=[
                    StepIn(id="cut", process="textile.cutting", minutes_per_piece=0.2),
                    StepIn(id="print", process="textile.printing", minutes_per_piece=0.3,
                           after=["cut"]),
                    StepIn(id="sew", process="textile.sewing", minutes_per_piece=3.0,
                           after=["cut"]),
                    StepIn(id="qc", process="inspection.visual", minutes_per_piece=0.1,
                           after=["print", "sew"])]),
    ]


def seed(session_factory: sessionmaker[Session], *, now: datetime) -> bool:
    """Store the demo park unless it is there already; True when something was added."""
    with session_scope(session_factory) as db:
        factories = demo_factories(now)
        if factory_service.get(db, factory_id=factories[0].id) is not None:
            return False
        for park_id, name, city, *_ in PARKS:
            if park_service.get(db, park_id=park_id) is None:
                park_service.create(db, park_in=ParkCreate(id=park_id, name=name, city=city))
        for f in factories:
            factory_service.create(db, factory_in=f, source="demo")
        for o in demo_orders(now):
            if order_service.get(db, order_id=o.id) is None:
                order_service.create(db, order_in=o)
    return True
