"""Fuzz the ingest's handling function with 10,000 malformed topics and payloads.

Every input is built to be refused (random bytes, random JSON, one field of a valid message
broken, oversized, bad time, unknown id, bad topic, replayed seq, a seq jumped far ahead, progress
for another resource's booking). The ingest must never raise,
and every message must be counted: rejected total == messages sent, per process and in Redis.
"""

import json
from datetime import timedelta

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from connectors.ingest import Ingest, NoEffects
from connectors.payloads import MAX_SEQ
from connectors.topics import Kind, TopicError, parse_topic
from connectors.validation import Reason
from tests.connectors.helpers import NOW, directory, fake_state, iso

# Hypothesis' per-example overhead dominates single messages, so each example is a batch.
EXAMPLES = 100
PER_EXAMPLE = 100  # 100 x 100 = 10,000 messages
TOPICS = {
    "state": "sharefab/v1/P1/F1/R1/state",
    "availability": "sharefab/v1/P1/F1/R1/availability",
    "progress": "sharefab/v1/P1/F1/R1/progress",
    "gateway": "sharefab/v1/P1/F1/gateway/status",
}
VALID = {
    "state": {"status": "running", "utilization": 0.5},
    "availability": {"windows": [{"start": iso(NOW), "end": iso(NOW + timedelta(hours=1))}]},
    "progress": {"booking": "B1", "done": 1, "scrap": 0},
    "gateway": {"online": True},
}
# Larger than any seq the fuzzer replays: applied before the run, so replays are stale.
APPLIED_SEQ = 10**12

inbound_topic = st.sampled_from(sorted(TOPICS.values()))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
_COUNTS = [None, -1, 1.5, "1", 10**8, True, []]
# Per field, values that field must refuse (strict types, ranges, id pattern).
BAD_VALUES = {
    "ts": [None, 5, "x", "2026-13-45T99:00:00Z", [], "2026-12-01T08:00:00"],
    "seq": [None, -1, 2**60, 1.5, "1", True, []],
    "status": [None, "broken", "", 1, "idle "],
    "utilization": [-0.1, 1.5, "0.5", True, [], {}, float("inf")],
    "windows": [None, "x", [1], [{}], {}, [{"start": "x", "end": "y"}]],
    "booking": [None, "", "a/b", "x y", 1, "#", "a" * 65],
    "done": _COUNTS,
    "scrap": _COUNTS,
    "online": [None, "yes", 1, 0, [], "true"],
}


def _is_ignored(topic: str) -> bool:
    """Platform topics the ingest skips on purpose; the fuzzer must not count them as sent."""
    if topic.startswith("sharefab/v1/_"):
        return True
    try:
        return parse_topic(topic).kind is Kind.WORK_ORDERS
    except TopicError:
        return False


def _message(kind: str, seq: int, ts: str, **override):
    return {"ts": ts, "seq": seq, **VALID[kind], **override}


@st.composite
def broken_field(draw):
    kind = draw(st.sampled_from(sorted(VALID)))
    msg = _message(kind, draw(st.integers(APPLIED_SEQ + 1, 2**50)), iso(NOW))
    field = draw(st.sampled_from(sorted(msg)))
    if field != "utilization" and draw(st.booleans()):  # utilization alone is optional
        del msg[field]
    else:
        msg[field] = draw(st.sampled_from(BAD_VALUES[field]))
    return TOPICS[kind], json.dumps(msg).encode()


@st.composite
def bad_time(draw):
    kind = draw(st.sampled_from(sorted(VALID)))
    shift = draw(st.sampled_from([timedelta(minutes=6), timedelta(days=3650),
                                  -timedelta(days=31), -timedelta(days=3650)]))
    ts = draw(st.sampled_from([iso(NOW + shift), (NOW + shift).isoformat()[:19]]))
    return TOPICS[kind], json.dumps(_message(kind, APPLIED_SEQ + 5, ts)).encode()


@st.composite
def unknown_id(draw):
    kind = draw(st.sampled_from(["state", "availability", "progress"]))
    rid = draw(st.from_regex(r"\AX[A-Za-z0-9_]{0,10}\Z"))
    return (f"sharefab/v1/P1/F1/{rid}/{kind}",
            json.dumps(_message(kind, APPLIED_SEQ + 5, iso(NOW))).encode())


@st.composite
def bad_topic(draw):
    suffix = draw(st.text(max_size=60))
    topic = draw(st.sampled_from(["sharefab/v1/", "", "sharefab/", "$SYS/", "sharefab/v1/P1/"]))
    return topic + suffix, json.dumps(_message("state", APPLIED_SEQ + 5, iso(NOW))).encode()


@st.composite
def replayed(draw):
    seq = draw(st.integers(0, APPLIED_SEQ))
    return TOPICS["state"], json.dumps(_message("state", seq, iso(NOW))).encode()


@st.composite
def jumped(draw):
    """Far ahead of the clock (in ms) and of the last applied seq: a lock-out attempt."""
    kind = draw(st.sampled_from(sorted(VALID)))
    seq = draw(st.integers(2 * APPLIED_SEQ + 10**9, MAX_SEQ))
    return TOPICS[kind], json.dumps(_message(kind, seq, iso(NOW))).encode()


@st.composite
def foreign_booking(draw):
    """Progress through R1's topic for the booking on R2 (another factory's, in the issue)."""
    seq = draw(st.integers(1, APPLIED_SEQ))
    return TOPICS["progress"], json.dumps(_message("progress", seq, iso(NOW),
                                                   booking="B2")).encode()


garbage = st.tuples(inbound_topic, st.binary(max_size=300))
random_json = st.tuples(inbound_topic, json_values.map(lambda v: json.dumps(v).encode()))
oversized = st.tuples(inbound_topic, st.integers(64 * 1024 + 1, 80_000).map(
    lambda n: b'{"ts": "' + b"x" * n + b'"}'))

malformed = st.one_of(garbage, random_json, broken_field(), bad_time(), unknown_id(),
                      bad_topic(), replayed(), oversized, jumped(),
                      foreign_booking()).filter(lambda m: not _is_ignored(m[0]))


def test_ingest__fuzzed_malformed_messages_all_rejected_and_counted():
    state = fake_state()
    known = directory()
    known.add_booking("B1", "R1")
    known.add_booking("B2", "R2")
    ingest = Ingest(state, known, NoEffects(), publish=lambda t, p: None, clock=lambda: NOW)
    seed = ingest.handle(TOPICS["state"], json.dumps(_message("state", APPLIED_SEQ,
                                                              iso(NOW))).encode())
    assert seed.status == "applied"
    base_messages = ingest.messages
    sent = 0
    not_rejected = []

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])
    @given(st.lists(malformed, min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
    def run(messages):
        nonlocal sent
        for topic, payload in messages:
            sent += 1
            outcome = ingest.handle(topic, payload)  # one at a time: the worst case
            if outcome.status != "rejected":
                not_rejected.append((topic, payload[:100], outcome))

    run()
    assert sent == EXAMPLES * PER_EXAMPLE == 10_000
    assert not_rejected == []
    assert ingest.messages - base_messages == sent
    assert sum(ingest.rejected.values()) == sent
    # The generator reaches every kind of refusal but the database one (replays of exactly
    # APPLIED_SEQ count as duplicates).
    assert set(ingest.rejected) == {r.value for r in Reason} - {"effect_failed"}
    messages, rejected = state.totals()
    assert (messages - base_messages, sum(rejected.values())) == (sent, sent)
    assert state.last_seq(TOPICS["state"]) == APPLIED_SEQ  # the fuzz changed nothing
