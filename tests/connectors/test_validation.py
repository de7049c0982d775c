import json

import pytest

from connectors.payloads import AvailabilityPayload, StatePayload
from connectors.topics import REJECTED_TOPIC
from connectors.validation import Accepted, Ignored, Reason, Rejected, validate
from tests.connectors.helpers import NOW, body, directory, iso, minutes, state_body

STATE = "sharefab/v1/P1/F1/R1/state"


def check(topic, payload):
    return validate(topic, payload, now=NOW, directory=directory())


def test_validate__state_accepted():
    verdict = check(STATE, state_body(1))
    assert isinstance(verdict, Accepted)
    assert isinstance(verdict.payload, StatePayload)
    assert verdict.payload.status == "running"


def test_validate__over_64_kib_rejected():
    big = body(1, status="idle", pad="x" * 65_536)
    assert check(STATE, big) == Rejected(Reason.TOO_LARGE, f"payload is {len(big)} bytes, "
                                                             "limit 65536")


def test_validate__not_json_rejected():
    verdict = check(STATE, b"\xff\x00not json")
    assert isinstance(verdict, Rejected)
    assert verdict.reason is Reason.BAD_JSON


@pytest.mark.parametrize(("fields", "field"), [
    ({"status": "broken"}, "status"),
    ({"status": "idle", "utilization": 1.5}, "utilization"),
    ({"status": "idle", "utilization": "0.5"}, "utilization"),  # strict: no string numbers
    ({"status": "idle", "extra": 1}, "extra"),
])
def test_validate__schema_errors_name_the_field(fields, field):
    verdict = check(STATE, body(1, **fields))
    assert isinstance(verdict, Rejected)
    assert verdict.reason is Reason.INVALID
    assert verdict.detail.startswith(field)


def test_validate__missing_seq_rejected():
    verdict = check(STATE, json.dumps({"ts": iso(NOW), "status": "idle"}).encode())
    assert isinstance(verdict, Rejected)
    assert verdict.detail.startswith("seq")


def test_validate__unknown_resource_rejected():
    verdict = check("sharefab/v1/P1/F1/R9/state", state_body(1))
    assert verdict == Rejected(Reason.UNKNOWN_ID, "unknown resource P1/F1/R9")


def test_validate__resource_of_another_factory_rejected():
    verdict = check("sharefab/v1/P1/F2/R1/state", state_body(1))
    assert isinstance(verdict, Rejected)
    assert verdict.reason is Reason.UNKNOWN_ID


@pytest.mark.parametrize(("offset", "ok"), [(minutes(4), True), (minutes(6), False),
                                            (-minutes(60 * 24 * 29), True),
                                            (-minutes(60 * 24 * 31), False)])
def test_validate__timestamp_window(offset, ok):
    verdict = check(STATE, state_body(1, ts=NOW + offset))
    assert isinstance(verdict, Accepted) is ok
    if not ok:
        assert isinstance(verdict, Rejected)
        assert verdict.reason is Reason.BAD_TIMESTAMP


def test_validate__timestamp_without_zone_rejected():
    verdict = check(STATE, json.dumps({"ts": "2026-12-01T08:00:00", "seq": 1,
                                       "status": "idle"}).encode())
    assert isinstance(verdict, Rejected)
    assert verdict.detail.startswith("ts")


def test_validate__availability_windows_parsed():
    topic = "sharefab/v1/P1/F1/R1/availability"
    verdict = check(topic, body(3, windows=[{"start": iso(NOW), "end": iso(NOW + minutes(60))}]))
    assert isinstance(verdict, Accepted)
    assert isinstance(verdict.payload, AvailabilityPayload)
    assert len(verdict.payload.windows) == 1


def test_validate__window_end_before_start_rejected():
    topic = "sharefab/v1/P1/F1/R1/availability"
    verdict = check(topic, body(3, windows=[{"start": iso(NOW), "end": iso(NOW)}]))
    assert isinstance(verdict, Rejected)
    assert verdict.detail.startswith("windows.0")


def test_validate__platform_topics_ignored():
    assert isinstance(check(REJECTED_TOPIC, b"{}"), Ignored)
    assert isinstance(check("sharefab/v1/P1/F1/R1/work-orders", b"{}"), Ignored)


def test_validate__gateway_status_needs_known_factory():
    ok = check("sharefab/v1/P1/F1/gateway/status", body(1, online=False))
    bad = check("sharefab/v1/P1/F9/gateway/status", body(1, online=False))
    assert isinstance(ok, Accepted)
    assert isinstance(bad, Rejected)
    assert bad.reason is Reason.UNKNOWN_ID
