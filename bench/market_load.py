"""Load a generated market straight into the platform's database, for benchmarks at scale.

The scenario import (``POST /scenario``) goes through the ORM one row at a time, which is the
right trade for a park's few hundred machines but takes minutes for 100,000 resources and
600,000 windows. A benchmark only needs the same rows the import would write, so this writes
them with bulk inserts (one statement per table and chunk) after the schema's migrations,
then adds the orders through the ordinary order service and one SME organisation with an API
key, so requests are authenticated and authorised as a customer's would be.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from domain import model as m
from domain.schemas import OrderIn
from services.auth import service as auth_service
from services.auth.models import OrgCreate, OrgKind, Role
from services.bookings.models import Booking, BookingState
from services.core.db import make_session_factory, migrate, session_scope
from services.factories.models import Factory
from services.orders import service as order_service
from services.parks.models import Park
from services.resources.models import Resource, ResourceWindow
from services.scenario.models import MarketFacts

CHUNK = 5_000  # rows per INSERT: large enough to be fast, small enough for SQLite's limits
SME_ORG = "bench-sme"


def _chunks(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, CHUNK)):
        yield chunk


def _resource_rows(scenario: m.Scenario) -> Iterator[dict[str, Any]]:
    for f in scenario.factories:
        for i, r in enumerate(f.resources):
            yield {"id": r.id, "factory_id": f.id, "position": i, "process": r.process,
                   "capacity": r.capacity, "materials": list(r.materials), "speed": r.speed,
                   "setup_min": r.setup_min, "time_share_per_hour": r.pricing.time_share_per_hour,
                   "per_piece": r.pricing.per_piece, "by_value_pct": r.pricing.by_value_pct}


def _window_rows(scenario: m.Scenario) -> Iterator[dict[str, Any]]:
    for f in scenario.factories:
        for r in f.resources:
            for w in r.windows:
                yield {"resource_id": r.id, "start": w.start, "end": w.end, "source": "scenario"}


def _booking_rows(scenario: m.Scenario) -> Iterator[dict[str, Any]]:
    capacity = {r.id: r.capacity for f in scenario.factories for r in f.resources}
    for b in scenario.bookings:
        yield {"id": b.id, "resource_id": b.resource, "order_id": b.order, "step_id": b.step,
               "quantity": b.quantity, "start": b.start, "end": b.end,
               "status": BookingState.BOOKED.value, "exclusive": capacity[b.resource] <= 1,
               "source": "scenario"}


def load(engine: Engine, scenario: m.Scenario) -> str:
    """Migrate, write ``scenario`` (market, bookings, orders owned by one SME) and answer that
    SME's API key. The database is expected to be empty."""
    migrate(engine)
    factory = make_session_factory(engine)
    with session_scope(factory) as db:
        db.add(MarketFacts(id=1, horizon_start=scenario.horizon_start,
                           transport=dataclasses.asdict(scenario.transport),
                           objective=dataclasses.asdict(scenario.objective)))
        parks = sorted({f.park for f in scenario.factories})
        db.execute(insert(Park), [{"id": p, "name": p, "city": ""} for p in parks])
        for chunk in _chunks({"id": f.id, "position": i, "park_id": f.park, "name": f.name,
                              "lat": f.lat, "lon": f.lon, "rating": f.rating,
                              "certifications": list(f.certifications)}
                             for i, f in enumerate(scenario.factories)):
            db.execute(insert(Factory), chunk)
        for rows, table in ((_resource_rows(scenario), Resource),
                            (_window_rows(scenario), ResourceWindow),
                            (_booking_rows(scenario), Booking)):
            for chunk in _chunks(rows):
                db.execute(insert(table), chunk)
        auth_service.create_org(db, org_in=OrgCreate(id=SME_ORG, kind=OrgKind.SME))
        for i, o in enumerate(scenario.orders):
            order_service.create(db, order_in=OrderIn.of(o), position=i, org_id=SME_ORG)
        _, token = auth_service.create_key(db, org_id=SME_ORG, role=Role.MEMBER,
                                           now=datetime.now(UTC))
    return token
