"""The MQTT topic schema (docs/formats.md#mqtt): build topics, and parse them back into their parts.

    sharefab/v1/{park}/{factory}/{resource}/{state|availability|work-orders|progress}
    sharefab/v1/{park}/{factory}/{resource}/work-order-replies   (accept or decline, inbound)
    sharefab/v1/{park}/{factory}/gateway/status
    sharefab/v1/_rejected

Identifiers follow ``domain.schemas.ID_PATTERN`` (no slashes, no wildcards), so a topic splits
unambiguously on "/". ``gateway`` is a reserved word in the resource position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from domain.schemas import ID_PATTERN

ROOT = "sharefab/v1"
REJECTED_TOPIC = f"{ROOT}/_rejected"
# Everything under the root; the ingest ignores the platform-to-gateway topics itself.
ALL_FILTER = f"{ROOT}/#"
SHARE_GROUP = "ingest"
GATEWAY = "gateway"

_ID = re.compile(ID_PATTERN)


class Kind(StrEnum):
    """The last level of a topic: what the message is about."""

    STATE = "state"
    AVAILABILITY = "availability"
    WORK_ORDERS = "work-orders"
    PROGRESS = "progress"
    # An extension of the topic schema: the factory's answer to a work order (accept, decline).
    WORK_ORDER_REPLIES = "work-order-replies"
    GATEWAY_STATUS = "status"


# Gateway -> platform: what the ingest consumes. The rest is platform -> gateway.
INBOUND = frozenset({Kind.STATE, Kind.AVAILABILITY, Kind.PROGRESS, Kind.WORK_ORDER_REPLIES,
                     Kind.GATEWAY_STATUS})
RESOURCE_KINDS = frozenset({Kind.STATE, Kind.AVAILABILITY, Kind.WORK_ORDERS, Kind.PROGRESS,
                            Kind.WORK_ORDER_REPLIES})


class TopicError(ValueError):
    """A topic that is not part of the topic schema; the message says which level."""


@dataclass(frozen=True, slots=True)
class TopicRef:
    """A parsed topic. ``resource`` is None for the gateway status topic."""

    park: str
    factory: str
    resource: str | None
    kind: Kind

    @property
    def inbound(self) -> bool:
        return self.kind in INBOUND

    def topic(self) -> str:
        if self.kind is Kind.GATEWAY_STATUS:
            return gateway_status_topic(self.park, self.factory)
        assert self.resource is not None
        return resource_topic(self.park, self.factory, self.resource, self.kind)


def resource_topic(park: str, factory: str, resource: str, kind: Kind) -> str:
    if kind is Kind.GATEWAY_STATUS:
        raise TopicError("the gateway status topic has no resource level")
    return f"{ROOT}/{park}/{factory}/{resource}/{kind.value}"


def gateway_status_topic(park: str, factory: str) -> str:
    return f"{ROOT}/{park}/{factory}/{GATEWAY}/status"


def shared_filter(topic_filter: str = ALL_FILTER, group: str = SHARE_GROUP) -> str:
    """MQTT 5 shared subscription: each message goes to one member of ``group``."""
    return f"$share/{group}/{topic_filter}"


def is_rejected_topic(topic: str) -> bool:
    return topic == REJECTED_TOPIC


@lru_cache(maxsize=65_536)  # a park repeats the same few thousand topics all day
def parse_topic(topic: str) -> TopicRef:
    """Split a topic into park, factory, resource and kind; raise TopicError naming the level."""
    if len(topic) > 512:
        raise TopicError("topic longer than 512 characters")
    parts = topic.split("/")
    if len(parts) < 2 or f"{parts[0]}/{parts[1]}" != ROOT:
        raise TopicError(f"topic must start with {ROOT}/")
    rest = parts[2:]
    if len(rest) != 4:
        raise TopicError(f"expected {ROOT}/{{park}}/{{factory}}/{{resource}}/{{kind}}, "
                         f"got {len(rest)} levels after {ROOT}")
    park, factory, resource, last = rest
    for name, value in (("park", park), ("factory", factory)):
        if not _ID.match(value):
            raise TopicError(f"{name} level {value[:64]!r} is not a valid id")
    if resource == GATEWAY:
        if last != Kind.GATEWAY_STATUS.value:
            raise TopicError(f"gateway topic must end in /status, got {last[:64]!r}")
        return TopicRef(park, factory, None, Kind.GATEWAY_STATUS)
    if not _ID.match(resource):
        raise TopicError(f"resource level {resource[:64]!r} is not a valid id")
    try:
        kind = Kind(last)
    except ValueError:
        raise TopicError(f"unknown kind {last[:64]!r}; expected one of "
                         f"{sorted(k.value for k in RESOURCE_KINDS)}") from None
    if kind not in RESOURCE_KINDS:
        raise TopicError(f"kind {last!r} is only valid under /gateway/")
    return TopicRef(park, factory, resource, kind)
