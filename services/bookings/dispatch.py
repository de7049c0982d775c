"""Who hears about new bookings: the ``Dispatcher`` a route gets as a FastAPI dependency.

``POST /quotes/{id}/accept`` hands its committed bookings to the dispatcher; the MQTT runtime
installs ``connectors.dispatch.Dispatcher`` (one work order per booking on the resource's
``work-orders`` topic), without MQTT it is ``NullDispatcher``. Tests override
``get_dispatcher`` (``app.dependency_overrides``) with a ``RecordingDispatcher``.

The work order itself is defined once, ``connectors.payloads.WorkOrderPayload``;
``work_order_fields`` maps a booking onto it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request

from connectors.dispatch import WORK_ORDER_FIELDS
from services.bookings.models import BookingRead


class Dispatcher(Protocol):
    """Sends the work orders of committed bookings (never raises for one bad row)."""

    def dispatch(self, rows: Sequence[BookingRead]) -> object: ...


class NullDispatcher:
    """No MQTT: bookings stand, gateways learn of them through the API."""

    def dispatch(self, rows: Sequence[BookingRead]) -> list[str]:
        return []


class RecordingDispatcher:
    """Keeps what it was given (tests, dry runs)."""

    def __init__(self) -> None:
        self.sent: list[BookingRead] = []

    def dispatch(self, rows: Sequence[BookingRead]) -> list[str]:
        self.sent.extend(rows)
        return [row.id for row in rows]


def work_order_fields(row: BookingRead) -> dict[str, Any]:
    """A booking -> the ``WorkOrderPayload`` fields (plus ``park``, for its topic)."""
    fields: dict[str, Any] = {name: getattr(row, name) for name in WORK_ORDER_FIELDS
                              if name != "booking"}
    return {"booking": row.id, "park": row.park, **fields}


def get_dispatcher(request: Request) -> Dispatcher:
    """The app's dispatcher (``create_app`` installs the null one, the MQTT runtime its own)."""
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
