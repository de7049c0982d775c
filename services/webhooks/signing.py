"""HMAC-SHA256 signatures of webhook deliveries (stdlib ``hmac``: no hand-rolled crypto).

The receiver recomputes ``sha256=hex(HMAC(secret, f"{timestamp}.{body}"))`` and compares in
constant time; the timestamp inside the signed text lets it refuse replays of old deliveries.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-ShareFab-Signature"
TIMESTAMP_HEADER = "X-ShareFab-Timestamp"
EVENT_ID_HEADER = "X-ShareFab-Event-Id"
EVENT_TYPE_HEADER = "X-ShareFab-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """What a receiver does; the tests use it as one."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
