from datetime import timedelta

import fakeredis

from connectors.ingest import Incoming, Ingest, NoEffects
from connectors.payloads import RejectedPayload
from connectors.topics import REJECTED_TOPIC
from connectors.validation import Reason
from tests.connectors.helpers import NOW, body, directory, fake_state, iso, minutes, state_body

STATE = "sharefab/v1/P1/F1/R1/state"
GW = "sharefab/v1/P1/F1/gateway/status"


def make(state=None, effects=None, now=NOW):
    published = []
    known = directory()
    known.add_booking("B1", "R1")
    ingest = Ingest(state or fake_state(), known, effects or NoEffects(),
                    publish=lambda t, p: published.append((t, p)), clock=lambda: now)
    return ingest, published


def test_ingest__state_becomes_live():
    ingest, _ = make()
    assert ingest.handle(STATE, state_body(1, "running", 0.4)).status == "applied"
    rec = ingest.state.read(["R1"])["R1"]
    assert (rec.status, rec.utilization, rec.last_seen) == ("running", 0.4, NOW)


def test_ingest__duplicate_and_stale_seq_dropped_and_counted():
    ingest, published = make()
    ingest.handle(STATE, state_body(5, "running"))
    dup = ingest.handle(STATE, state_body(5, "down"))
    stale = ingest.handle(STATE, state_body(4, "down"))
    assert (dup.reason, stale.reason) == (Reason.DUPLICATE_SEQ, Reason.STALE_SEQ)
    assert ingest.state.read(["R1"])["R1"].status == "running"
    assert ingest.rejected == {"duplicate_seq": 1, "stale_seq": 1}
    assert ingest.state.totals() == (3, {"duplicate_seq": 1, "stale_seq": 1})
    assert len(published) == 2


def test_ingest__seq_is_per_topic_so_other_topics_are_not_stale():
    ingest, _ = make()
    ingest.handle(STATE, state_body(100))
    other = ingest.handle("sharefab/v1/P1/F1/R2/state", state_body(7))
    assert other.status == "applied"


def test_ingest__seq_shared_between_ingest_processes():
    """Two consumers of a shared subscription see one sender: the seq lives in Redis."""
    server = fakeredis.FakeServer()
    from connectors.state import RedisState
    a = make(RedisState(fakeredis.FakeRedis(server=server), "s:"))[0]
    b = make(RedisState(fakeredis.FakeRedis(server=server), "s:"))[0]
    assert a.handle(STATE, state_body(10, "down")).status == "applied"
    assert b.handle(STATE, state_body(9, "idle")).reason is Reason.STALE_SEQ
    assert b.state.read(["R1"])["R1"].status == "down"


def test_ingest__rejection_published_with_reason():
    ingest, published = make()
    ingest.handle(STATE, b"{oops")
    topic, payload = published[0]
    notice = RejectedPayload.model_validate_json(payload)
    assert topic == REJECTED_TOPIC
    assert (notice.topic, notice.reason, notice.payload_excerpt) == (STATE, "bad_json", "{oops")


def test_ingest__last_will_turns_resources_offline():
    ingest, _ = make()
    ingest.handle(STATE, state_body(1, "running"))
    ingest.handle(GW, body(2, online=False))
    live = ingest.state.read(["R1", "R2"])
    # R2 never reported: the Will still gives it an entry, offline.
    assert {r: s.status for r, s in live.items()} == {"R1": "offline", "R2": "offline"}


def test_ingest__gateway_back_online_restores_reported_status():
    ingest, _ = make()
    ingest.handle(STATE, state_body(1, "running"))
    ingest.handle(GW, body(2, online=False))
    ingest.handle(GW, body(3, online=True))
    assert ingest.state.read(["R1"])["R1"].status == "running"


def test_ingest__old_will_does_not_beat_newer_online():
    ingest, _ = make()
    ingest.handle(STATE, state_body(1, "idle"))
    ingest.handle(GW, body(10, online=True))
    assert ingest.handle(GW, body(9, online=False)).reason is Reason.STALE_SEQ
    assert ingest.state.read(["R1"])["R1"].status == "idle"


def test_ingest__expired_heartbeat_reads_offline():
    ingest, _ = make(fake_state(heartbeat_ttl_s=30))
    ingest.handle(STATE, state_body(1, "running", ts=NOW - timedelta(seconds=45)))
    assert ingest.state.read(["R1"])["R1"].status == "offline"


def test_ingest__fresh_heartbeat_reads_reported_status():
    ingest, _ = make(fake_state(heartbeat_ttl_s=30))
    ingest.handle(STATE, state_body(1, "idle", ts=NOW - timedelta(seconds=10)))
    assert ingest.state.read(["R1"])["R1"].status == "idle"


def test_ingest__availability_replaces_windows():
    effects = NoEffects()
    ingest, _ = make(effects=effects)
    windows = [{"start": iso(NOW + minutes(60)), "end": iso(NOW + minutes(120))},
               {"start": iso(NOW), "end": iso(NOW + minutes(30))}]
    ingest.handle("sharefab/v1/P1/F1/R1/availability", body(1, windows=windows))
    got = effects.windows["R1"]
    assert [(w.start, w.end) for w in got] == [(NOW + minutes(60), NOW + minutes(120)),
                                              (NOW, NOW + minutes(30))]


def test_ingest__progress_recorded_once():
    effects = NoEffects()
    ingest, _ = make(effects=effects)
    topic = "sharefab/v1/P1/F1/R1/progress"
    ingest.handle(topic, body(1, booking="B1", done=10, scrap=1))
    ingest.handle(topic, body(1, booking="B1", done=99, scrap=9))  # redelivered QoS 1 duplicate
    assert effects.progress == {"B1": (10, 1)}


class FailingEffects(NoEffects):
    def record_progress(self, booking, done, scrap):
        raise RuntimeError("database is down")


def test_ingest__failing_database_counted_not_raised():
    ingest, _ = make(effects=FailingEffects())
    out = ingest.handle("sharefab/v1/P1/F1/R1/progress", body(1, booking="B1", done=1, scrap=0))
    assert out.reason is Reason.EFFECT_FAILED
    assert "database is down" in out.detail


def test_ingest__batch_keeps_order_and_counts():
    ingest, _ = make()
    batch = [Incoming(STATE, state_body(1, "idle")), Incoming(STATE, b"x"),
             Incoming(REJECTED_TOPIC, b"{}"), Incoming(STATE, state_body(2, "down"))]
    outcomes = ingest.handle_batch(batch)
    assert [o.status for o in outcomes] == ["applied", "rejected", "ignored", "applied"]
    assert ingest.messages == 3
    assert ingest.state.read(["R1"])["R1"].status == "down"


def test_ingest__replayed_retained_duplicate_counted_without_notice():
    ingest, published = make()
    ingest.handle(STATE, state_body(3), retained=True)
    again = ingest.handle(STATE, state_body(3), retained=True)  # resubscribed: replayed
    assert again.reason is Reason.DUPLICATE_SEQ
    assert ingest.rejected == {"duplicate_seq": 1}
    assert published == []


def test_ingest__progress_seq_is_per_booking_not_per_topic():
    """Two lots on one machine: the older report of the other booking is not stale."""
    effects = NoEffects()
    ingest, _ = make(effects=effects)
    ingest.directory.add_booking("B2", "R1")  # type: ignore[attr-defined]
    topic = "sharefab/v1/P1/F1/R1/progress"
    assert ingest.handle(topic, body(5, booking="B1", done=10, scrap=0)).status == "applied"
    assert ingest.handle(topic, body(4, booking="B2", done=3, scrap=0)).status == "applied"
    stale = ingest.handle(topic, body(3, booking="B1", done=2, scrap=0))
    assert stale.reason is Reason.STALE_SEQ
    assert effects.progress == {"B1": (10, 0), "B2": (3, 0)}


class PlanRecorder(NoEffects):
    def __init__(self):
        super().__init__()
        self.down: list[str] = []
        self.replies: list[tuple[str, bool, str | None]] = []

    def resource_down(self, resource):
        self.down.append(resource)

    def reply_work_order(self, booking, accepted, reason):
        self.replies.append((booking, accepted, reason))


def test_ingest__down_state_and_work_order_replies_reach_the_plan_effects():
    effects = PlanRecorder()
    ingest, _ = make(effects=effects)
    ingest.handle(STATE, state_body(1, "running"))
    ingest.handle(STATE, state_body(2, "down"))
    reply = ingest.handle("sharefab/v1/P1/F1/R1/work-order-replies",
                          body(3, booking="B1", accepted=False, reason="tooling broken"))
    assert reply.status == "applied"
    assert effects.down == ["R1"]
    assert effects.replies == [("B1", False, "tooling broken")]
