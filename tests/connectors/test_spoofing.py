"""Every MQTT spoofing of issue 10, repeated against the ingest: refused, counted, no state
changed. (The broker ACL stops most of them first: tests/connectors/test_mqtt_acl.py; these
are the checks the broker cannot make, and the defence when a broker runs without an ACL.)
"""

from __future__ import annotations

import json
from datetime import timedelta

from connectors.directory import StaticDirectory
from connectors.ingest import Ingest, NoEffects
from connectors.payloads import MAX_SEQ
from connectors.validation import Reason
from tests.connectors.helpers import NOW, body, fake_state, iso, state_body

STATE = "sharefab/v1/P1/F1/R1/state"
RIVAL_STATE = "sharefab/v1/P1/F2/S1/state"
RIVAL_AVAILABILITY = "sharefab/v1/P1/F2/S1/availability"
OWN_PROGRESS = "sharefab/v1/P1/F1/R1/progress"
REAL_SEQ = 1_000  # the rival gateway counts from 1


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def world():
    directory = StaticDirectory([("P1", "F1", "R1"), ("P1", "F2", "S1")],
                                bookings={"B-own": "R1", "B-rival": "S1"})
    clock = Clock()
    effects = NoEffects()
    ingest = Ingest(fake_state(), directory, effects, publish=lambda t, p: None, clock=clock)
    return ingest, effects, clock


def snapshot(ingest: Ingest, effects: NoEffects):
    live = ingest.state.read(["R1", "S1"])
    return ({k: (v.status, v.utilization) for k, v in live.items()},
            {k: list(v) for k, v in effects.windows.items()}, dict(effects.progress),
            ingest.state.last_seq(RIVAL_STATE))


def test_spoof__huge_seq_refused_and_the_real_gateway_keeps_working():
    ingest, effects, clock = world()
    assert ingest.handle(RIVAL_STATE, state_body(REAL_SEQ, "running")).status == "applied"
    before = snapshot(ingest, effects)
    forged = ingest.handle(RIVAL_STATE, state_body(MAX_SEQ, "down"))
    assert (forged.status, forged.reason) == ("rejected", Reason.SEQ_JUMP)
    assert snapshot(ingest, effects) == before
    assert ingest.rejected == {"seq_too_far_ahead": 1}
    assert ingest.state.totals()[1] == {"seq_too_far_ahead": 1}
    # No lock-out: the real gateway's next message still applies.
    clock.now += timedelta(seconds=1)
    later = ingest.handle(RIVAL_STATE, state_body(REAL_SEQ + 1, "idle", ts=clock.now))
    assert later.status == "applied"


def test_spoof__huge_seq_on_a_first_message_refused_too():
    ingest, _effects, _ = world()
    forged = ingest.handle(RIVAL_STATE, state_body(9007199254740991, "down"))
    assert forged.reason is Reason.SEQ_JUMP
    assert ingest.state.read(["S1"]) == {}
    assert ingest.handle(RIVAL_STATE, state_body(1, "running")).status == "applied"


def test_spoof__seq_may_grow_with_time_since_the_last_accepted():
    """A busy gateway's one counter spans all its resources: a jump is fine given time."""
    ingest, _, clock = world()
    seeded = int(clock.now.timestamp() * 1000)  # seeded from the clock, then counting fast
    ingest.handle(RIVAL_STATE, state_body(seeded))
    clock.now += timedelta(seconds=60)
    allowed = seeded + 100_000 + 60 * 10_000  # beyond the clock's ms + 5 min: the rate rule
    ok = ingest.handle(RIVAL_STATE, state_body(allowed, ts=clock.now))
    assert ok.status == "applied"
    too_far = ingest.handle(RIVAL_STATE, state_body(allowed + 100_001, ts=clock.now))
    assert too_far.reason is Reason.SEQ_JUMP


def test_spoof__clock_seeded_seq_after_a_restart_passes():
    """Gateways that seed seq from the clock in ms (ours do) may jump far after a restart."""
    ingest, _, clock = world()
    ingest.handle(RIVAL_STATE, state_body(REAL_SEQ))
    seeded = int(clock.now.timestamp() * 1000)
    assert ingest.handle(RIVAL_STATE, state_body(seeded)).status == "applied"


def test_spoof__forged_seq_within_the_budget_holds_the_real_gateway_back_only_briefly():
    """A forged seq the jump rule lets through (max_future ahead in ts) stops the real sender
    only until its clock passes the forged ts: then a lower seq with a newer ts is a restart."""
    ingest, _, clock = world()
    ingest.handle(RIVAL_STATE, state_body(REAL_SEQ, "running"))
    forged_ts = clock.now + timedelta(minutes=5)
    assert ingest.handle(RIVAL_STATE, state_body(REAL_SEQ + 50_000, "down",
                                                 ts=forged_ts)).status == "applied"
    clock.now += timedelta(minutes=1)
    held = ingest.handle(RIVAL_STATE, state_body(REAL_SEQ + 1, "running", ts=clock.now))
    assert held.reason is Reason.STALE_SEQ
    clock.now += timedelta(minutes=5)
    back = ingest.handle(RIVAL_STATE, state_body(REAL_SEQ + 2, "running", ts=clock.now))
    assert back.status == "applied"
    assert ingest.state.read(["S1"])["S1"].status == "running"


def test_spoof__replay_of_an_old_message_stays_stale():
    ingest, _, clock = world()
    old = state_body(REAL_SEQ, "down")
    ingest.handle(RIVAL_STATE, old)
    clock.now += timedelta(seconds=5)
    ingest.handle(RIVAL_STATE, state_body(REAL_SEQ + 1, "running", ts=clock.now))
    assert ingest.handle(RIVAL_STATE, old).reason is Reason.STALE_SEQ
    assert ingest.state.read(["S1"])["S1"].status == "running"


def test_spoof__progress_for_another_factorys_booking_refused():
    ingest, effects, _ = world()
    out = ingest.handle(OWN_PROGRESS, body(1, booking="B-rival", done=500, scrap=0))
    assert (out.status, out.reason) == ("rejected", Reason.FOREIGN_BOOKING)
    assert effects.progress == {}
    assert ingest.rejected == {"foreign_booking": 1}
    own = ingest.handle(OWN_PROGRESS, body(2, booking="B-own", done=5, scrap=0))
    assert own.status == "applied"
    assert effects.progress == {"B-own": (5, 0)}


def test_spoof__progress_for_an_unknown_booking_refused():
    ingest, effects, _ = world()
    out = ingest.handle(OWN_PROGRESS, body(1, booking="B-none", done=1, scrap=0))
    assert out.reason is Reason.UNKNOWN_ID
    assert effects.progress == {}


def test_spoof__empty_availability_with_huge_seq_does_not_wipe_the_calendar():
    ingest, effects, _ = world()
    window = {"start": iso(NOW), "end": iso(NOW + timedelta(hours=8))}
    assert ingest.handle(RIVAL_AVAILABILITY, body(REAL_SEQ, windows=[window])).status \
        == "applied"
    before = snapshot(ingest, effects)
    forged = ingest.handle(RIVAL_AVAILABILITY, body(MAX_SEQ, windows=[]))
    assert forged.reason is Reason.SEQ_JUMP
    assert snapshot(ingest, effects) == before
    assert len(effects.windows["S1"]) == 1


def test_spoof__rejections_are_published_with_their_reason():
    notices: list[bytes] = []
    directory = StaticDirectory([("P1", "F2", "S1")])
    ingest = Ingest(fake_state(), directory, NoEffects(),
                    publish=lambda t, p: notices.append(p), clock=lambda: NOW)
    ingest.handle(RIVAL_STATE, state_body(MAX_SEQ, "down"))
    assert [json.loads(n)["reason"] for n in notices] == ["seq_too_far_ahead"]
