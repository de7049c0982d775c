"""Refuse NUL characters anywhere in a request with 422, before any handler sees it.

PostgreSQL text cannot hold U+0000 (the driver raises, the API answered 500) while SQLite
stores it: one rule for both backends, in one place, for every route present and future.
The path, the query string and the body (raw NUL or the JSON escape ``\\u0000``) are checked.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_MESSAGE = "NUL characters (U+0000) are not allowed in text"


class RefuseNul:
    """Pure ASGI middleware; sits inside ``BodySizeLimit`` so the buffered body is bounded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", ""):
            await _refuse(send, "path")
            return
        query = scope.get("query_string", b"").lower()
        if b"%00" in query or b"\x00" in query:
            await _refuse(send, "query")
            return
        messages: list[Message] = []
        more = True
        while more:
            message = await receive()
            messages.append(message)
            more = message["type"] == "http.request" and bool(message.get("more_body"))
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if b"\x00" in body or b"\\u0000" in body:
            await _refuse(send, "body")
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, where: str) -> None:
    body = json.dumps({"detail": f"{where}: {_MESSAGE}",
                       "errors": [{"field": where, "message": _MESSAGE}]}).encode()
    await send({"type": "http.response.start", "status": 422,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
