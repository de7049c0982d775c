"""The OpenAPI document declares the error bodies the API really sends.

FastAPI documents a 422 whose ``detail`` is an array (``HTTPValidationError``), while every
refusal here is ``{"detail": "<field>: <message>; ...", "errors": [{"field", "message"}]}``
(services.api.errors, limits, nul_guard; FastAPI's own HTTPException answers carry only
``detail``, hence ``errors`` is optional). Clients generated from the document, and
schemathesis, then read the errors they get. The document is post-processed once, after every
router is in, so routes other modules add are covered too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

_REF = "#/components/schemas/ErrorBody"
_DEFAULT_422 = "#/components/schemas/HTTPValidationError"

# Status -> when the API answers it. Every operation may meet 401/403 (authentication and
# policy), 422 (bad parameters; NUL anywhere), 413 (the size limit runs before routing) and
# 503 (database busy); 404 and 409 where an id is named or state changes; 400 where a body
# that is not JSON at all arrives (FastAPI's own answer, ``detail`` only).
_ALWAYS = {
    "401": "Not authenticated: no or an invalid bearer token.",
    "403": "Authenticated, but this role may not do this.",
    "413": "Request body over the configured limit.",
    "422": "Invalid input; each entry of ``errors`` names the field.",
    "429": "Too many requests (rate limit per API key or account, failed logins per account "
           "or address, or quotes in progress / queued past "
           "their bound: services.api.backpressure); retry after ``Retry-After`` seconds.",
    "503": "Database or Redis busy or unavailable; retry after ``Retry-After`` seconds.",
}
_BAD_BODY = "The body is not parseable JSON."
_NOT_FOUND = "No such object (or not one this caller may see)."
_CONFLICT = "Contradicts the stored state (double booking, wrong order status, duplicate id)."


class ErrorItem(BaseModel):
    field: str = Field(description="Dotted path of the offending input, e.g. body.steps.0.id")
    message: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: one readable line, and the same errors one per field."""

    detail: str = Field(description="All errors in one line: 'field: message; ...'")
    errors: list[ErrorItem] = Field(default_factory=list)


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that declares ``ErrorBody`` for every error status."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override hook


def declare_errors(doc: dict[str, Any]) -> dict[str, Any]:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(body.pop("$defs", {}))
    schemas["ErrorBody"] = body
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "put", "post", "patch", "delete", "head", "options"}:
                continue
            if "ops" in operation.get("tags", []):
                continue  # probes (/healthz, /readyz) take no input; their 503 is a status
            responses = operation.setdefault("responses", {})
            codes = dict(_ALWAYS)
            if "{" in path or method != "get":
                codes["404"] = _NOT_FOUND
            if method != "get":
                codes["409"] = _CONFLICT
            if "requestBody" in operation:
                codes["400"] = _BAD_BODY
            for code, description in codes.items():
                _declare(responses, code, description)
    if _DEFAULT_422 not in str(doc.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return doc


def _declare(responses: dict[str, Any], code: str, description: str) -> None:
    """Set ``code`` to ErrorBody unless a route documented its own body for it."""
    current = responses.get(code)
    schema = (current or {}).get("content", {}).get("application/json", {}).get("schema", {})
    if current is not None and schema and schema.get("$ref") != _DEFAULT_422:
        return
    responses[code] = {"description": (current or {}).get("description") or description,
                       "content": {"application/json": {"schema": {"$ref": _REF}}}}
    if code == "422":
        responses[code]["description"] = description
