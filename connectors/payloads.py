"""Pydantic models of the MQTT payloads (JSON, UTF-8; docs/formats.md#mqtt), one per topic kind.

Every message carries ``ts`` (ISO 8601 with a zone) and ``seq``, an integer that increases per
sender. The ingest checks ``seq`` per topic (progress: per topic and booking): a gateway's
sequence restricted to one topic is increasing too, and checking per topic means messages of
different topics (or of different bookings) that overtake each other (several
shared-subscription consumers) are never dropped by mistake.

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
    """Fields every MQTT payload has. Strict: "0.4" is not a number, true is not 1."""

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


class WorkOrderReplyPayload(Envelope):
    """``.../{resource}/work-order-replies`` (QoS 1): the factory accepts or declines a work
    order; a decline says why and makes the platform re-plan the lot elsewhere."""

    booking: Id
    accepted: bool
    reason: Annotated[str, Field(max_length=500)] | None = None


class WorkOrderPayload(Envelope):
    """``.../{resource}/work-orders`` (QoS 1): a plan allocation (docs/formats.md#plan) plus its
    booking.
    """

    booking: Id
    order: Id | None = None
    # Optional only for bookings imported without a plan (the scenario's ``bookings``,
    # docs/formats.md#scenario).
    step: Id | None = None
    factory: Id
    resource: Id
    quantity: Annotated[int, Field(ge=0)]
    start: UtcDatetime
    end: UtcDatetime
    pricing: LotPricing | None = None
    cost: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    # Extensions (optional, so older senders stay valid). The platform re-sends a lot's work
    # order as its input arrives: ``input_ready`` good input pieces delivered so far (None:
    # the input is on hand, e.g. a first step). ``cancelled``: the lot was re-planned
    # elsewhere; the gateway drops it.
    input_ready: Annotated[int, Field(ge=0)] | None = None
    # When those pieces are at this lot's factory (upstream finish plus the haul); None: on
    # hand already, or none delivered yet.
    input_at: UtcDatetime | None = None
    cancelled: bool = False
    # What the factory needs to make its step, from the order (extensions, None for bookings
    # imported without a plan): the material, the step's process and its times. Never the
    # order's value, its other steps or other factories' lots.
    material: Id | None = None
    process: Id | None = None
    minutes_per_piece: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    setup_min: Annotated[int, Field(ge=0)] | None = None


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
    Kind.WORK_ORDER_REPLIES: WorkOrderReplyPayload,
}


def encode(payload: BaseModel) -> bytes:
    """The wire form: compact UTF-8 JSON."""
    return payload.model_dump_json(exclude_none=False).encode()


def as_dict(payload: BaseModel) -> dict[str, Any]:
    return payload.model_dump(mode="json")
