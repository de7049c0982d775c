"""Refuse query parameters a route does not declare.

A misspelt or unsupported filter (``/bookings?factroy=F1``) must not be silently ignored: the
client would take the unfiltered answer for a filtered one. Add ``StrictQuery`` to a router's
``dependencies`` and every query parameter its routes do not declare answers 422 naming it.
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from services.core.errors import InvalidError


def _declared(request: Request) -> set[str] | None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    return {p.alias for p in route.dependant.query_params} | {
        p.alias for dep in route.dependant.dependencies for p in dep.query_params}


def reject_unknown_query(request: Request) -> None:
    """422 on the first query parameter the matched route does not declare."""
    declared = _declared(request)
    if declared is None:
        return
    for name in request.query_params:
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise InvalidError(f"query.{name}", f"unknown query parameter (this route takes: "
                                                f"{known})")


StrictQuery = Depends(reject_unknown_query)
