"""An ingest transaction that loses a race is run again, never dropped, and leaves no trace of
the failed attempt (issue 11; issue 12's at-least-once rule).

A constraint violation, deadlock or serialization failure is retried with backoff a bounded
number of times; only then is the message refused (``effect_failed``, counted), never
reported applied. Events' log lines are written after the commit, so a rolled-back attempt
followed by a successful one leaves one ``started`` event and one log line.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import psycopg.errors
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from connectors.ingest import Ingest
from connectors.topics import Kind, resource_topic
from connectors.validation import Reason
from services.flows import shopfloor
from services.workers import ingest as ingest_worker
from services.workers.ingest import DbDirectory, DbEffects, is_conflict
from tests.connectors.helpers import body, fake_state
from tests.services import builders as b

PARK = "P9"  # builders' default park


def _accepted_lot(client: Any) -> dict[str, Any]:
    client.post("/factories", json=b.factory("F1", resources=[b.resource("R1",
                                                                         windows=[(8, 20)])]))
    client.post("/orders", json=b.order("O1", quantity=60, min_lot=60, due=b._t(72),
                                        steps=[b.step("s1", minutes_per_piece=1.0)]))
    quotes = client.post("/orders/O1/quotes", params={"time_limit_s": 1.0}).json()
    cheapest = next(q for q in quotes if q["kind"] == "cheapest")
    answer = client.post(f"/quotes/{cheapest['id']}/accept")
    assert answer.status_code == 201, answer.text
    [lot] = answer.json()
    return dict(lot)


def _at(hours: float) -> datetime:
    return b.START + timedelta(hours=hours)


def _kinds(client: Any) -> list[str]:
    return [e["type"] for e in client.get("/orders/O1/events").json()]


class FailsFirst:
    """``shopfloor.report_progress`` that does all its work, then fails ``times`` times with
    ``error`` (as a concurrent transaction's commit would make it fail)."""

    def __init__(self, error: Exception, times: int = 1) -> None:
        self.real = shopfloor.report_progress
        self.error, self.left, self.calls = error, times, 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        result = self.real(*args, **kwargs)
        if self.left > 0:
            self.left -= 1
            raise self.error
        return result


def _unique_violation() -> IntegrityError:
    return IntegrityError("INSERT INTO lot_history ...", {},
                          psycopg.errors.UniqueViolation("duplicate key value"))


def _deadlock() -> OperationalError:
    return OperationalError("UPDATE bookings ...", {},
                            psycopg.errors.DeadlockDetected("deadlock detected"))


@pytest.mark.parametrize("error", [_unique_violation(), _deadlock()], ids=["unique", "deadlock"])
def test_conflict__retried_once_gives_one_started_event_and_one_log_line(
        client, monkeypatch, caplog, error):
    lot = _accepted_lot(client)
    failing = FailsFirst(error)
    monkeypatch.setattr(shopfloor, "report_progress", failing)
    slept: list[float] = []
    effects = DbEffects(client.app.state.session_factory, clock=lambda: _at(8.2),
                        sleep=slept.append)
    caplog.set_level(logging.INFO, logger="sharefab.events")
    effects.record_progress(lot["id"], 10, 0)
    assert failing.calls == 2  # rolled back once, then applied
    assert len(slept) == 1
    assert slept[0] > 0
    row = client.get(f"/bookings/{lot['id']}").json()
    assert (row["status"], row["done"]) == ("running", 10)
    assert _kinds(client).count("started") == 1
    started_lines = [r for r in caplog.records
                     if r.name == "sharefab.events" and getattr(r, "kind", None) == "started"]
    assert len(started_lines) == 1


def test_conflict__a_rolled_back_transaction_writes_no_event_log_line(client, caplog):
    """The log line of an event whose transaction rolls back is never written."""
    from services.core.db import session_scope
    from services.events import service as events

    caplog.set_level(logging.INFO, logger="sharefab.events")
    _accepted_lot(client)
    caplog.clear()
    db = client.app.state.session_factory()
    events.record(db, order_id="O1", kind="started", actor="test", details={})
    db.rollback()  # what session_scope does when the transaction fails
    db.close()
    with session_scope(client.app.state.session_factory) as db:
        events.record(db, order_id="O1", kind="progress", actor="test", details={"n": 1})
    lines = [getattr(r, "kind", None) for r in caplog.records if r.name == "sharefab.events"]
    assert lines == ["progress"]


def _progress_ingest(client: Any, effects: DbEffects) -> Ingest:
    return Ingest(fake_state(), DbDirectory(client.app.state.session_factory), effects,
                  clock=lambda: _at(8.2))


def _progress_message(lot: dict[str, Any], seq: int, done: int) -> tuple[str, bytes]:
    topic = resource_topic(PARK, "F1", "R1", Kind.PROGRESS)
    return topic, body(seq, _at(8.2), booking=lot["id"], done=done, scrap=0)


def test_conflict__message_applied_after_a_conflict_is_not_refused(client, monkeypatch):
    lot = _accepted_lot(client)
    monkeypatch.setattr(shopfloor, "report_progress", FailsFirst(_deadlock()))
    ingest = _progress_ingest(client, DbEffects(client.app.state.session_factory,
                                                clock=lambda: _at(8.2), sleep=lambda s: None))
    outcome = ingest.handle(*_progress_message(lot, 1, 12))
    assert (outcome.status, outcome.reason) == ("applied", None)
    assert client.get(f"/bookings/{lot['id']}").json()["done"] == 12
    assert dict(ingest.rejected) == {}


def test_conflict__persisting_conflict_is_refused_and_counted_after_bounded_retries(
        client, monkeypatch):
    lot = _accepted_lot(client)
    failing = FailsFirst(_unique_violation(), times=100)
    monkeypatch.setattr(shopfloor, "report_progress", failing)
    slept: list[float] = []
    effects = DbEffects(client.app.state.session_factory, clock=lambda: _at(8.2),
                        sleep=slept.append, conflict_attempts=4, conflict_backoff_s=0.01)
    ingest = _progress_ingest(client, effects)
    refused_before = ingest_worker.INGEST_CONFLICTS_REFUSED._value.get()
    outcome = ingest.handle(*_progress_message(lot, 1, 12))
    assert failing.calls == 4
    assert len(slept) == 3  # bounded: a wait between attempts, none after the last
    assert sum(slept) < 4 * 0.01 * 2 ** 3  # exponential, capped by the attempts
    assert outcome.status == "rejected"
    assert outcome.reason is Reason.EFFECT_FAILED
    assert "still conflicting after 4 attempts" in outcome.detail
    assert ingest.rejected == {"effect_failed": 1}
    assert ingest.applied == 0
    assert ingest_worker.INGEST_CONFLICTS_REFUSED._value.get() == refused_before + 1
    assert client.get(f"/bookings/{lot['id']}").json()["done"] == 0  # nothing half-applied
    assert "started" not in _kinds(client)


def test_conflict__outage_still_deferred_unacknowledged(client, monkeypatch):
    """A database that is down is not a conflict: the message is deferred (``retry``: the
    MQTT client holds its ack and tries again), not refused."""
    lot = _accepted_lot(client)
    down = OperationalError("SELECT 1", {}, psycopg.errors.ConnectionFailure("server closed"))
    monkeypatch.setattr(shopfloor, "report_progress", FailsFirst(down))
    ingest = _progress_ingest(client, DbEffects(client.app.state.session_factory,
                                                clock=lambda: _at(8.2), sleep=lambda s: None))
    assert ingest.handle(*_progress_message(lot, 1, 12)).status == "retry"
    assert ingest.handle(*_progress_message(lot, 1, 12)).status == "applied"  # redelivered


def test_is_conflict__classifies_by_sqlstate():
    assert is_conflict(_unique_violation())
    assert is_conflict(_deadlock())
    assert is_conflict(OperationalError("x", {}, psycopg.errors.SerializationFailure("s")))
    assert is_conflict(OperationalError("x", {}, Exception("database is locked")))
    assert not is_conflict(OperationalError("x", {}, psycopg.errors.ConnectionFailure("c")))
    assert not is_conflict(OperationalError("x", {}, psycopg.errors.QueryCanceled("timeout")))
    assert not is_conflict(ValueError("bad data"))


def test_out_of_order_reports__a_lot_completes_once(client):
    """Two ingest workers may apply a lot's last two reports in either order: the older one,
    committed after the lot finished, changes nothing and is no second ``completed``."""
    lot = _accepted_lot(client)
    effects = DbEffects(client.app.state.session_factory, clock=lambda: _at(8.9))
    effects.record_progress(lot["id"], 60, 0)  # the last report, applied first
    effects.record_progress(lot["id"], 59, 0)  # the one before it, applied second
    effects.record_progress(lot["id"], 60, 0)  # and a repeat
    kinds = _kinds(client)
    assert kinds.count("completed") == 1, kinds
    assert kinds.count("done") == 1
    assert "progress" not in kinds[kinds.index("completed"):]
    assert client.get(f"/bookings/{lot['id']}").json()["done"] == 60
