"""Pydantic models of the DESIGN 4.3 payloads (JSON, UTF-8), one per topic kind.

Every message carries ``ts`` (ISO 8601 with a zone) and ``seq``, an integer that increases per
sender. The ingest checks ``seq`` per topic: a gateway's sequence restricted to one topic is
increasing too, and checking per topic means messages of different topics that overtake each
other (several shared-subscription consumers) are never dropped by mistake.

Gateways must keep ``seq`` increasing across their own restarts; the simulated gateway seeds it
from the clock in milliseconds. Field names are a contract: extend, never rename or drop.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

from connectors.topics import Kind
from domain.schemas import Id, UtcDatetime, WindowIn, format_utc

# Lua numbers are doubles: keep seq exactly representable for the Redis seq check.
MAX_SEQ = 2**53 - 1
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]
Status = Literal["idle", "running", "down", "offline"]
LotPricing = Literal["time_share", "per_piece", "by_value"]


# Checked in pydantic's Rust core (an aware datetime, any offset) rather than through a Python
# validator converting to UTC: ``ts`` is on every message's hot path. Written out in UTC.
Timestamp = Annotated[AwareDatetime,
                      PlainSerializer(format_utc, return_type=str, when_used="json")]


class Envelope(BaseModel):
    """Fields every 4.3 payload has. Strict: "0.4" is not a number, true is not 1."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    ts: Timestamp
    seq: Seq


class StatePayload(Envelope):
    """``.../{resource}/state`` (retained): what the machine is doing now."""

    status: Status
    utilization: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] | None = None


class AvailabilityPayload(Envelope):
    """``.../{resource}/availability`` (retained): replaces the resource's published windows."""

    windows: Annotated[list[WindowIn], Field(max_length=1000)]


class GatewayStatusPayload(Envelope):
    """``.../gateway/status`` (retained; the Last Will says ``online: false``)."""

    online: bool


class ProgressPayload(Envelope):
    """``.../{resource}/progress`` (QoS 1): cumulative pieces done and scrapped for a booking."""

    booking: Id
    done: Annotated[int, Field(ge=0, le=10_000_000)]
    scrap: Annotated[int, Field(ge=0, le=10_000_000)]


class WorkOrderPayload(Envelope):
    """``.../{resource}/work-orders`` (QoS 1): a DESIGN 4.2 allocation plus its booking id."""

    booking: Id
    order: Id | None = None
    # Optional only for bookings imported without a plan (DESIGN 4.1 ``bookings``).
    step: Id | None = None
    factory: Id
    resource: Id
    quantity: Annotated[int, Field(ge=0)]
    start: UtcDatetime
    end: UtcDatetime
    pricing: LotPricing | None = None
    cost: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None


class RejectedPayload(BaseModel):
    """``sharefab/v1/_rejected``: what the platform refused, and why (for gateway developers)."""

    model_config = ConfigDict(extra="forbid")

    topic: str
    reason: str
    detail: str
    payload_excerpt: str
    ts: UtcDatetime
    seq: Seq


INBOUND_MODELS: dict[Kind, type[Envelope]] = {
    Kind.STATE: StatePayload,
    Kind.AVAILABILITY: AvailabilityPayload,
    Kind.GATEWAY_STATUS: GatewayStatusPayload,
    Kind.PROGRESS: ProgressPayload,
}


def encode(payload: BaseModel) -> bytes:
    """The wire form: compact UTF-8 JSON."""
    return payload.model_dump_json(exclude_none=False).encode()


def as_dict(payload: BaseModel) -> dict[str, Any]:
    return payload.model_dump(mode="json")
