"""Wire authentication into an app: 401 / 403 answers and the OpenAPI security scheme.

The check itself is the app-wide dependency ``deps.authorize`` (given to ``FastAPI(...)``);
here public routes are marked in the OpenAPI document as needing no credentials.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from services.auth import policy
from services.auth.throttle import TooManyLoginsError


def _answer(status: int, field: str, message: str, headers: dict[str, str] | None = None
            ) -> JSONResponse:
    return JSONResponse(status_code=status, headers=headers,
                        content={"detail": f"{field}: {message}",
                                 "errors": [{"field": field, "message": message}]})


def install(app: FastAPI) -> None:
    @app.exception_handler(policy.UnauthenticatedError)
    async def _unauthenticated(_: Request, exc: policy.UnauthenticatedError) -> JSONResponse:
        return _answer(401, "authorization", str(exc), {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(policy.ForbiddenError)
    async def _forbidden(_: Request, exc: policy.ForbiddenError) -> JSONResponse:
        return _answer(403, "authorization", str(exc))

    @app.exception_handler(TooManyLoginsError)
    async def _too_many_logins(_: Request, exc: TooManyLoginsError) -> JSONResponse:
        return _answer(429, "authorization", str(exc), {"Retry-After": str(exc.retry_after_s)})

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    if policy.rule_for(method.upper(), path).public:
                        operation["security"] = []
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
