"""The ingest's view of known ids (``DbDirectory``) and its database effects, on SQLite."""

import pytest

from domain.model import Window
from domain.schemas import FactoryIn
from services.bookings.models import Booking
from services.core.db import make_engine, make_session_factory, migrate, session_scope
from services.factories import service as factories
from services.resources.models import Resource
from services.workers.ingest import DbDirectory, DbEffects
from tests.connectors.helpers import NOW, minutes
from tests.services import builders as b


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.fixture
def session_factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'dir.db'}")
    migrate(engine)
    yield make_session_factory(engine)
    engine.dispose()


def add_factory(session_factory, fid, park, rids):
    with session_scope(session_factory) as db:
        factories.create(db, factory_in=FactoryIn.model_validate(
            b.factory(fid, park=park, resources=[b.resource(r) for r in rids])),
            create_parks=True)


def test_directory__new_resource_found_on_first_miss(session_factory):
    clock = Clock()
    directory = DbDirectory(session_factory, clock=clock)
    add_factory(session_factory, "F1", "P1", ["F1-R1"])
    assert directory.has_resource("P1", "F1", "F1-R1")
    clock.t += 1.0
    add_factory(session_factory, "F2", "P1", ["F2-R1"])  # registered after the cache loaded
    assert directory.has_resource("P1", "F2", "F2-R1")
    assert directory.resources_of("P1", "F2") == ["F2-R1"]
    assert directory.locate("F2-R1") == ("P1", "F2")


def test_directory__wrong_factory_refused(session_factory):
    add_factory(session_factory, "F1", "P1", ["F1-R1"])
    directory = DbDirectory(session_factory, clock=Clock())
    assert not directory.has_resource("P1", "F9", "F1-R1")
    assert not directory.has_factory("P2", "F1")


def test_directory__resource_registered_right_after_a_lookup_is_found(session_factory):
    clock = Clock()
    directory = DbDirectory(session_factory, clock=clock)
    assert not directory.has_resource("P1", "F1", "F1-R1")  # not registered yet
    add_factory(session_factory, "F2", "P1", ["F2-R1"])
    assert directory.has_resource("P1", "F2", "F2-R1")  # same instant: its own lookup
    assert directory.has_factory("P1", "F2")


def test_directory__flood_of_unknown_ids_looked_up_at_a_bounded_rate(session_factory):
    clock = Clock()
    directory = DbDirectory(session_factory, clock=clock, max_lookups_per_s=50)
    for i in range(1000):
        assert not directory.has_resource("P1", "F1", f"X{i}")
        clock.t += 0.001  # 1000 made-up ids within one second
    assert directory.lookups == 50
    # Past the budget, full reloads instead, at most one per reload_min_s (0.25 s): the first
    # load at t=0, then at 0.25, 0.5 and 0.75 s.
    assert directory.budget_reloads == 3
    assert directory.refreshes == 4


def test_directory__factory_registered_after_a_burst_of_unknown_ids_is_found(session_factory):
    """Retained messages of 200 departed factories use up the lookup budget at once; a factory
    registered within that second still gets its first message accepted (issue 11)."""
    clock = Clock()
    add_factory(session_factory, "F1", "P1", ["F1-R1"])
    directory = DbDirectory(session_factory, clock=clock, max_lookups_per_s=50)
    for i in range(200):
        assert not directory.has_factory("P1", f"GONE{i}")
        assert not directory.has_resource("P1", f"GONE{i}", f"GONE{i}-R1")
        clock.t += 0.001
    assert directory.lookups == 50  # the budget is spent
    clock.t = 0.5  # still within the burst's second
    add_factory(session_factory, "F2", "P1", ["F2-R1"])
    assert directory.has_factory("P1", "F2")
    assert directory.has_resource("P1", "F2", "F2-R1")
    assert directory.resources_of("P1", "F2") == ["F2-R1"]
    assert directory.lookups == 50  # found by a full reload, not by more lookups
    assert directory.budget_reloads >= 1


def test_directory__reloads_after_the_budget_are_rate_limited(session_factory):
    clock = Clock()
    directory = DbDirectory(session_factory, clock=clock, max_lookups_per_s=5,
                            reload_min_s=0.25)
    for i in range(500):  # all within 0.05 s
        directory.has_resource("P1", "F1", f"X{i}")
        clock.t += 0.0001
    assert directory.lookups == 5
    assert directory.refreshes == 1  # the first load; the next reload is due at 0.25 s


def test_db_effects__windows_replaced_and_progress_recorded(session_factory):
    add_factory(session_factory, "F1", "P1", ["F1-R1"])
    with session_scope(session_factory) as db:
        db.add(Booking(id="B1", resource_id="F1-R1", quantity=10, start=NOW,
                       end=NOW + minutes(60)))
    effects = DbEffects(session_factory)
    effects.replace_windows("F1-R1", [Window(NOW + minutes(120), NOW + minutes(180))])
    effects.record_progress("B1", 9, 1)
    with session_scope(session_factory) as db:
        windows = [(w.start, w.end) for w in db.get(Resource, "F1-R1").windows]
        booking = db.get(Booking, "B1")
        assert windows == [(NOW + minutes(120), NOW + minutes(180))]
        assert (booking.done, booking.scrap, booking.status) == (9, 1, "done")
