"""Every bad input answers 4xx with a message naming the field; never a 500.

Validation errors become ``{"detail": "body.factories.0.lat: ...", "errors": [{"field",
"message"}]}``; service errors map to 404 / 409 / 422; database integrity errors to 409.
A dependency that is down or too slow (Redis, the database, its connection pool) answers 503
with the same JSON shape, ``"dependency"`` naming it, and ``Retry-After``: the client may retry,
nothing was half done (the request's transaction rolled back).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from services.core.errors import ConflictError, InvalidError, NotFoundError
from services.live.breaker import BreakerOpenError

log = logging.getLogger(__name__)
_MAX_ERRORS = 20
# One warning per dependency per this many seconds while it stays down (with the count of the
# 503s in between): an outage answers hundreds of requests a second, and a log line each
# (written on the event loop) slowed the requests that need no Redis (bench/stall.py).
OUTAGE_LOG_EVERY_S = 10.0


class OutageLog:
    """Rate-limited warnings for a dependency that is down: the first 503 is logged at once,
    the next ones are counted and summed up in one line at most every ``every_s``."""

    def __init__(self, every_s: float = OUTAGE_LOG_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s, self.clock = every_s, clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def warn(self, dependency: str, message: str, *args: object) -> bool:
        """Log ``message`` unless ``dependency`` was logged less than ``every_s`` ago; True
        when it was logged."""
        now = self.clock()
        with self._lock:
            if now - self._last.get(dependency, -self.every_s) < self.every_s:
                self._quiet[dependency] = self._quiet.get(dependency, 0) + 1
                return False
            self._last[dependency] = now
            quiet = self._quiet.pop(dependency, 0)
        suffix = f" ({quiet} more 503s since the last warning)" if quiet else ""
        log.warning(message + suffix, *args)
        return True


async def _free_off_loop(exc: BaseException) -> None:
    """Drop the failed request's traceback in a worker thread, not on the event loop.

    Its frames hold what the route had read before the dependency failed (hundreds of ORM
    rows for ``GET /resources``); Starlette frees them by clearing the traceback on the event
    loop, which then stood still for every request, ``GET /orders`` included, while a Redis
    stall turned each Redis-backed request into a 503 (py-spy: a quarter of the loop's time).
    """
    held = [exc.__traceback__]
    exc.__traceback__ = None
    await to_thread.run_sync(held.clear)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def _message(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", "invalid"))
    # pydantic prefixes custom validator messages with "Value error, "; the field says enough.
    return msg.removeprefix("Value error, ")


def compact(errors: list[dict[str, Any]], prefix: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """One short line per error: the dotted field path and pydantic's message."""
    out = []
    for error in errors[:_MAX_ERRORS]:
        loc = tuple(error.get("loc", ()))
        # Union and function-validator tags ("function-after[...]") are noise in a path.
        loc = tuple(p for p in loc if not (isinstance(p, str) and "[" in p))
        out.append({"field": _field(prefix + loc), "message": _message(error)})
    return out


def _answer(status: int, errors: list[dict[str, str]]) -> JSONResponse:
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse(status_code=status, content={"detail": detail, "errors": errors})


def install(app: FastAPI) -> None:
    outages = OutageLog()
    app.state.outage_log = outages

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _answer(422, compact(list(exc.errors())))

    @app.exception_handler(ValidationError)
    async def _model_invalid(_: Request, exc: ValidationError) -> JSONResponse:
        return _answer(422, compact([dict(e) for e in exc.errors()], prefix=("body",)))

    @app.exception_handler(InvalidError)
    async def _invalid(_: Request, exc: InvalidError) -> JSONResponse:
        return _answer(422, [{"field": exc.field, "message": exc.message}])

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return _answer(404, [{"field": exc.what, "message": str(exc)}])

    @app.exception_handler(ConflictError)
    async def _conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return _answer(409, [{"field": "state", "message": str(exc)}])

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error answered 409: %s", exc.orig)
        return _answer(409, [{"field": "state", "message": _integrity_message(exc)}])

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the schema let through (a number beyond its column,
        # a character its encoding cannot hold): the client's input, not our failure.
        log.info("database refused a value, answered 422: %s", exc.orig)
        return _answer(422, [{"field": "body", "message": "a value is out of range for the "
                                                          "database"}])

    @app.exception_handler(OperationalError)
    async def _busy(_: Request, exc: OperationalError) -> JSONResponse:
        outages.warn("database", "database busy or unavailable: %s", exc.orig)
        await _free_off_loop(exc)
        return unavailable("database", "database busy or unavailable; retry")

    @app.exception_handler(PoolTimeoutError)
    async def _pool_exhausted(_: Request, exc: PoolTimeoutError) -> JSONResponse:
        outages.warn("database pool", "no database connection free: %s", exc)
        await _free_off_loop(exc)
        return unavailable("database", "no database connection free in time; retry")

    @app.exception_handler(BreakerOpenError)
    async def _breaker_open(_: Request, exc: BreakerOpenError) -> JSONResponse:
        # Nothing was read and Redis was not called: no frames to free, one counted warning.
        outages.warn("redis", "Redis unavailable: %s", exc)
        return unavailable("redis", "live state (Redis) unavailable; circuit breaker open, "
                                    "retry", retry_after_s=exc.retry_after_s)

    @app.exception_handler(RedisError)
    async def _redis_down(_: Request, exc: RedisError) -> JSONResponse:
        outages.warn("redis", "Redis unavailable: %s: %s", type(exc).__name__, exc)
        await _free_off_loop(exc)
        return unavailable("redis", "live state (Redis) unavailable or too slow; retry")


def unavailable(dependency: str, detail: str, retry_after_s: int = 2) -> JSONResponse:
    """503 for a dependency that is down: JSON like every error, plus Retry-After."""
    return JSONResponse(status_code=503, headers={"Retry-After": str(retry_after_s)},
                        content={"detail": detail, "dependency": dependency,
                                 "errors": [{"field": dependency, "message": detail}]})


def _integrity_message(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "ex_bookings_no_overlap" in text or "exclusion" in text:
        return "resource already booked over that interval: double booking refused"
    if "foreign key" in text or "violates foreign key" in text:
        return "still referenced by bookings (or names something that does not exist)"
    if "unique" in text or "duplicate" in text:
        return "an object with that id already exists"
    return "conflicts with stored data"
