"""FastAPI dependencies: the bearer scheme, the app-wide ``authorize`` check and
``CurrentPrincipal`` for views that scope their queries to the caller.

Bearer tokens only, no cookies: a browser never sends them on its own, so there is no CSRF
surface (the dashboard keeps its token in sessionStorage and sends the header itself).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.auth import policy, service
from services.auth.principal import Principal
from services.core.db import session_scope

bearer = HTTPBearer(
    auto_error=False,
    description="An API key (sfk_...) from `sharefab admin create-key` or POST /orgs/{id}/keys, "
                "or a login token from POST /auth/login.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def _resolve(request: Request, credentials: Credentials) -> Principal:
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    if credentials is None or not credentials.credentials:
        raise policy.UnauthenticatedError("send Authorization: Bearer <API key or login token>")
    # A short transaction of its own, not the request's: an async view (a quote solving for
    # seconds) must not hold a database transaction open just because it was authenticated.
    # The wall clock, not the app's test clock: key use and token expiry are real time.
    with session_scope(request.app.state.session_factory) as db:
        principal = service.authenticate(db, token=credentials.credentials,
                                         secret=request.app.state.settings.secret_key,
                                         now=datetime.now(UTC))
    if principal is None:
        raise policy.UnauthenticatedError("unknown, revoked or expired token")
    request.state.principal = principal
    return principal


def authorize(request: Request, credentials: Credentials) -> None:
    """The policy check every route runs before its view (see ``services.auth.policy``)."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    rule = policy.rule_for(request.method, path)
    if rule.public:
        return
    policy.check(rule, _resolve(request, credentials))


def get_principal(request: Request, credentials: Credentials) -> Principal:
    return _resolve(request, credentials)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
