"""Check one incoming MQTT message against docs/formats.md#mqtt, without any I/O.

The order of the checks is the order of cost: size, topic, JSON and schema, known ids, time.
The per-sender ``seq`` check needs shared state (Redis) and happens in the ingest, atomically
with the write it guards. Every refusal carries a ``Reason`` (a bounded set: it is a metric
label) and a detail naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ValidationError

from connectors.directory import Directory
from connectors.payloads import INBOUND_MODELS, Envelope, ProgressPayload
from connectors.topics import Kind, TopicError, TopicRef, parse_topic


class Reason(StrEnum):
    TOO_LARGE = "too_large"
    BAD_JSON = "bad_json"
    BAD_TOPIC = "bad_topic"
    INVALID = "invalid_payload"
    UNKNOWN_ID = "unknown_id"
    BAD_TIMESTAMP = "bad_timestamp"
    STALE_SEQ = "stale_seq"
    DUPLICATE_SEQ = "duplicate_seq"
    # seq jumped further ahead than the time since the topic's last accepted message allows:
    # one such message would otherwise lock the real sender out (every later one stale).
    SEQ_JUMP = "seq_too_far_ahead"
    # A progress message for a booking that is not on the topic's resource: a factory may
    # only report on its own lots (the broker ACL cannot see inside the payload).
    FOREIGN_BOOKING = "foreign_booking"
    # The message was valid but applying it failed (database down...): logged and counted.
    EFFECT_FAILED = "effect_failed"


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 64 * 1024
    # Gateways' clocks drift; more than this ahead of ours is a broken clock, not drift.
    max_future: timedelta = timedelta(minutes=5)
    # Retained messages may be old (a quiet machine); older than this is a stale gateway.
    max_age: timedelta = timedelta(days=30)
    # How far seq may move ahead of a topic's last accepted seq: a base step plus a rate per
    # second since then (a gateway's one counter spans all its resources, ~10 kHz at most).
    # A seq no further ahead than the clock in milliseconds (+ max_future) always passes:
    # gateways that seed their counter from the clock after a restart stay welcome.
    max_seq_jump: int = 100_000
    max_seq_rate_per_s: int = 10_000


@dataclass(frozen=True, slots=True)
class Accepted:
    ref: TopicRef
    payload: Envelope


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """Platform-to-gateway traffic (work orders, our own rejections): not ours to ingest."""

    topic: str


Verdict = Accepted | Rejected | Ignored


def validate(topic: str, payload: bytes, *, now: datetime, directory: Directory,
             limits: Limits = Limits()) -> Verdict:
    """The verdict on one message; never raises."""
    if len(payload) > limits.max_bytes:
        return Rejected(Reason.TOO_LARGE, f"payload is {len(payload)} bytes, limit "
                                          f"{limits.max_bytes}")
    try:
        ref = parse_topic(topic)
    except TopicError as exc:
        if topic.startswith("sharefab/v1/_"):  # platform topics such as _rejected
            return Ignored(topic)
        return Rejected(Reason.BAD_TOPIC, str(exc))
    if not ref.inbound:
        return Ignored(topic)
    model = INBOUND_MODELS[ref.kind]
    try:
        parsed = model.model_validate_json(payload)
    except ValidationError as exc:
        return _schema_rejection(exc)
    if not _known(ref, directory):
        what = (f"factory {ref.park}/{ref.factory}" if ref.resource is None
                else f"resource {ref.park}/{ref.factory}/{ref.resource}")
        return Rejected(Reason.UNKNOWN_ID, f"unknown {what}")
    if parsed.ts > now + limits.max_future:
        return Rejected(Reason.BAD_TIMESTAMP, f"ts {parsed.ts.isoformat()} is in the future "
                                              f"(more than {limits.max_future} ahead)")
    if parsed.ts < now - limits.max_age:
        return Rejected(Reason.BAD_TIMESTAMP, f"ts {parsed.ts.isoformat()} is older than "
                                              f"{limits.max_age}")
    if isinstance(parsed, ProgressPayload):  # last: it may cost a database lookup
        refusal = _foreign_booking(ref, parsed, directory)
        if refusal is not None:
            return refusal
    return Accepted(ref, parsed)


def _known(ref: TopicRef, directory: Directory) -> bool:
    if ref.kind is Kind.GATEWAY_STATUS or ref.resource is None:
        return directory.has_factory(ref.park, ref.factory)
    return directory.has_resource(ref.park, ref.factory, ref.resource)


def _foreign_booking(ref: TopicRef, progress: ProgressPayload,
                     directory: Directory) -> Rejected | None:
    """A progress message may only speak of a booking placed on its topic's resource."""
    owner = directory.booking_resource(progress.booking)
    if owner is None:
        return Rejected(Reason.UNKNOWN_ID, f"unknown booking {progress.booking!r}")
    if owner != ref.resource:
        # The same words for "on another resource" and "unknown" would hide less from a
        # spoofer, but the gateway's developers need to see which booking was refused.
        return Rejected(Reason.FOREIGN_BOOKING, f"booking {progress.booking!r} is not on "
                                                f"resource {ref.resource!r}")
    return None


def _schema_rejection(exc: ValidationError) -> Rejected:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0] if errors else {"type": "unknown", "loc": (), "msg": str(exc)}
    if first["type"] in {"json_invalid", "json_type"}:
        return Rejected(Reason.BAD_JSON, f"not a JSON object in UTF-8: {first['msg']}"[:300])
    field = ".".join(str(p) for p in first["loc"]) or "payload"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return Rejected(Reason.INVALID, f"{field}: {first['msg']}{more}"[:300])
