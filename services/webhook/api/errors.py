"""JSON errors of the admin API: `{"error": "…"}`, with the offending field on 422.

The SQL functions the API shares with the `leadsync` command raise the store's own errors
(`shared.errors.NotFound`, `Conflict`, `Invalid`); `STORE_STATUS` maps them to HTTP here, and the
command prints their message as one line.

`InternalErrors` is the catch-all under /api: an exception no handler turned into a response
answers `{"error": "internal error", "request_id": …}` (500) and is logged with that id.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import structlog
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from services.webhook.middleware import HttpMiddleware
from shared.errors import Conflict, Invalid, LeadsyncError, NotFound, StoreError

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")

log = structlog.get_logger("leadsync.webhook.api")


class ApiError(LeadsyncError):
    """An answer of the admin API with its HTTP status; `extra` goes into the JSON body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def error_response(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def not_found(what: str, ident: str) -> NotFound:
    return NotFound(f"{what} {ident!r} not found")


def found(row: R | None, what: str, ident: object) -> R:
    """`row`, or the 404 naming what was asked for."""
    if row is None:
        raise not_found(what, str(ident))
    return row


# The HTTP status of each store error; the most specific class is looked up first.
STORE_STATUS: dict[type[StoreError], int] = {NotFound: 404, Conflict: 409, Invalid: 422}


async def parse_body(request: Request, model: type[T]) -> T:
    """Validate a JSON body against `model` strictly (JSON types as declared: no "1" for 1);
    400 when not JSON, 422 naming the bad field."""
    raw = await request.body()
    try:
        return model.model_validate_json(raw or b"null", strict=True)
    except ValidationError as err:
        first = err.errors()[0]
        if first["type"] == "json_invalid":
            raise ApiError(400, "request body is not valid JSON") from None
        raise invalid(err, "body") from None


def parse_query(request: Request, model: type[T]) -> T:
    """Validate the query string against `model` (unknown parameters refused); 422 naming one."""
    params = request.query_params
    repeated = next((key for key in params if len(params.getlist(key)) > 1), None)
    if repeated is not None:
        raise ApiError(422, f"{repeated}: give it once", field=repeated)
    try:
        return model.model_validate(dict(params))
    except ValidationError as err:
        raise invalid(err, "query") from None


def invalid(err: ValidationError, where: str) -> ApiError:
    """422 naming the first bad field (`where` when the whole input is wrong)."""
    first = err.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or where
    return ApiError(422, f"{field}: {first['msg']}", field=field)


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, **exc.extra)


async def _store_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreError)
    status = next(code for cls, code in STORE_STATUS.items() if isinstance(exc, cls))
    extra = {"field": exc.field} if exc.field is not None else {}
    return error_response(status, exc.message, **extra)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = error_response(exc.status_code, exc.detail)
    response.headers.update(exc.headers or {})
    return response


class InternalErrors(HttpMiddleware):
    """Under /api an unhandled exception is a logged 500 with a request id, never a dropped
    connection or a text page."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            request_id = uuid.uuid4().hex
            log.exception(
                "api.internal_error", request_id=request_id, method=scope["method"], path=scope["path"]
            )
            if started:
                return  # the answer is under way; the log line is all we can add
            response = error_response(500, "internal error", request_id=request_id)
            response.headers["X-Request-ID"] = request_id
            await response(scope, receive, send)


exception_handlers = {ApiError: _api_error, StoreError: _store_error, HTTPException: _http_error}
