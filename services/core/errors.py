"""Errors the service functions raise; the API maps them to 404 / 409 with their message."""

from __future__ import annotations


class NotFoundError(LookupError):
    """An id that names nothing (answered 404)."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} {ident!r} not found")
        self.what = what
        self.ident = ident


class ConflictError(Exception):
    """A request that contradicts the stored state, e.g. a double booking (answered 409)."""


class InvalidError(ValueError):
    """Input that passes the schema but not the business rules (answered 422); names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
