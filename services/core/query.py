"""Refuse query parameters a route does not declare.

A misspelt or unsupported filter (``/bookings?factroy=F1``) must not be silently ignored: the
client would take the unfiltered answer for a filtered one. ``create_app`` adds ``StrictQuery``
to the app's dependencies: every query parameter a route does not declare answers 422 naming
it (declare a parameter with ``Query`` even when the handler reads it some other way).
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from services.core.errors import InvalidError


def _declared(request: Request) -> set[str] | None:
    """Query parameters the matched route takes, its dependencies' included."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(p.alias for p in dependant.query_params)
        pending.extend(dependant.dependencies)
    return names


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
