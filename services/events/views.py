"""GET /orders/{id}/events (an order's history) and GET /events/stream (a tenant's, live).

The stream is server-sent events: one ``id:``/``event:``/``data:`` message per event, polled
from the table (the events are the durable record; no broker needed). A client that
reconnects with ``Last-Event-ID`` resumes after the last event it saw, so nothing is missed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from services.core.db import DbSession, session_scope
from services.core.errors import NotFoundError
from services.events import service
from services.events.models import EventRead
from services.orders import service as order_service

router = APIRouter(tags=["events"])

# Seconds between two looks at the table, and between keep-alive comments when idle.
POLL_S = 0.5
KEEPALIVE_S = 15.0


@router.get("/orders/{order_id}/events", response_model=list[EventRead])
def list_order_events(db: DbSession, order_id: str, after: int = Query(0, ge=0),
                      limit: int = Query(1000, ge=1, le=10_000)) -> list[EventRead]:
    """The order's history, oldest first: what happened, when, by whom, with the facts."""
    if order_service.get(db, order_id=order_id) is None and not service.get_all(
            db, order_id=order_id, limit=1):
        raise NotFoundError("order", order_id)
    return [service.to_read(e) for e in service.get_all(db, order_id=order_id, after=after,
                                                        limit=limit)]


@router.get("/events/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def stream_events(request: Request,
                        customer: Annotated[str, Query(min_length=1, max_length=64)],
                        after: int = Query(0, ge=0),
                        max_events: int | None = Query(None, ge=1, description="close after "
                                                       "this many (tests, batch readers)"),
                        last_event_id: Annotated[int | None, Header()] = None,
                        ) -> StreamingResponse:
    """Server-sent events of one tenant's orders, from ``after`` (or Last-Event-ID) on."""
    factory = request.app.state.session_factory
    cursor = max(after, last_event_id or 0)

    def fetch(since: int) -> list[tuple[int, str, str]]:
        with session_scope(factory) as db:
            return [(e.id, e.kind, json.dumps(service.to_wire(e), separators=(",", ":")))
                    for e in service.get_all(db, customer=customer, after=since, limit=500)]

    async def messages() -> AsyncIterator[str]:
        since, sent, idle = cursor, 0, 0.0
        yield "retry: 2000\n\n"
        while max_events is None or sent < max_events:
            batch = await anyio.to_thread.run_sync(fetch, since)
            for event_id, kind, data in batch:
                yield f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n"
                since, sent = event_id, sent + 1
                if max_events is not None and sent >= max_events:
                    return
            if batch:
                idle = 0.0
                continue
            if await request.is_disconnected():
                return
            await anyio.sleep(POLL_S)
            idle += POLL_S
            if idle >= KEEPALIVE_S:
                idle = 0.0
                yield ": keep-alive\n\n"

    return StreamingResponse(messages(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
