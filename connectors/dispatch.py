"""Work-order dispatch: a confirmed booking goes to its resource's ``work-orders`` topic, QoS 1.

The work order (docs/formats.md#mqtt) is the plan's allocation of the booked lot plus the booking id
(and the order id). The services layer turns its booking rows into ``WorkOrderPayload`` fields
through the ``to_fields`` adapter given here, so this module knows no ORM.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.directory import Directory
from connectors.mqtt import Publisher
from connectors.payloads import Envelope, WorkOrderPayload, encode
from connectors.topics import Kind, resource_topic

log = logging.getLogger(__name__)

# The work order is defined once, by WorkOrderPayload; these are its fields beyond the envelope.
WORK_ORDER_FIELDS = tuple(name for name in WorkOrderPayload.model_fields
                          if name not in Envelope.model_fields)


def fields_of(row: Any) -> dict[str, Any]:
    """Default adapter: a mapping, or an object with the work-order field names."""
    if isinstance(row, Mapping):
        return dict(row)
    return {name: getattr(row, name) for name in WORK_ORDER_FIELDS if hasattr(row, name)}


class Dispatcher:
    """Publishes work orders; thread-safe (called from API request handlers after commit)."""

    def __init__(self, publisher: Publisher, directory: Directory,
                 to_fields: Callable[[Any], dict[str, Any]] = fields_of) -> None:
        self.publisher = publisher
        self.directory = directory
        self.to_fields = to_fields
        self._lock = threading.Lock()
        # The platform is one sender per process; seeded from the clock so it survives restarts.
        self._seq = int(time.time() * 1000)
        self.sent = 0

    def _next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def work_order(self, row: Any) -> tuple[str, WorkOrderPayload]:
        """(topic, payload) for one booking row; raises ValueError naming the bad field."""
        fields = self.to_fields(row)
        park = fields.pop("park", None)
        fields.setdefault("ts", datetime.now(UTC))
        fields["seq"] = self._next_seq()
        payload = WorkOrderPayload.model_validate(fields, strict=False)
        if park is None:
            where = self.directory.locate(payload.resource)
            if where is None:
                raise ValueError(f"resource {payload.resource!r}: park unknown")
            park = where[0]
        return resource_topic(park, payload.factory, payload.resource, Kind.WORK_ORDERS), payload

    def dispatch(self, rows: Iterable[Any]) -> list[str]:
        """Publish one work order per booking row at QoS 1; returns the topics used.

        A row that cannot be turned into a work order is logged and skipped: the booking is
        already committed, and the gateway can still be told through the API.
        """
        topics = []
        for row in rows:
            try:
                topic, payload = self.work_order(row)
            except (ValueError, KeyError) as exc:
                log.error("work order not dispatched: %s", exc)
                continue
            info = self.publisher.publish(topic, encode(payload), qos=1)
            if info.rc not in (0, 4):  # 4 = not connected: queued, sent on reconnect
                log.error("work order for booking %s not queued (rc=%s)", payload.booking,
                          info.rc)
                continue
            topics.append(topic)
            self.sent += 1
        return topics
