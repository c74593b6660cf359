"""The input boundary of every HTTP route: body caps while reading, and no control characters.

One ASGI middleware (`InputBoundary`) sits in front of the router for every request but Meta's
deliveries (which read their body with the same `read_capped`). It refuses, before any route
runs:
- a body over its path's cap (`CAPS`, by prefix): 413 as soon as the cap is passed, without
  reading the rest (a Content-Length over the cap is refused before the first byte);
- a control character (NUL, …) in the URL path or in any query parameter, and, for form posts,
  in any form field: 422 naming the field.
The API models declare the same rule per field with the `Text`-family types below (they also
carry it into the OpenAPI document as a `pattern`), and integers in URLs are ASCII digits only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr, StringConstraints
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send

from services.webhook.middleware import HttpMiddleware

KiB = 1024
MiB = 1024 * KiB
# Body caps by path prefix, first match wins. A new prefix gets DEFAULT_CAP until listed here.
CAPS: tuple[tuple[str, int], ...] = (
    ("/webhooks/", MiB),  # Meta's deliveries (DESIGN §3)
    ("/api/", MiB),  # admin API JSON
    ("/ops/", 64 * KiB),  # console forms
)
DEFAULT_CAP = 64 * KiB

# C0 controls, DEL, and lone surrogates (JSON can spell them; Postgres cannot store them).
CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
CONTROL_MESSAGE = "must not contain control characters (such as NUL)"


def cap_for(path: str) -> int:
    for prefix, cap in CAPS:
        if path.startswith(prefix):
            return cap
    return DEFAULT_CAP


def describe_cap(cap: int) -> str:
    return f"{cap // MiB} MiB" if cap % MiB == 0 else f"{cap // KiB} KiB"


async def read_capped(headers: dict[bytes, bytes], receive: Receive, cap: int) -> bytes | None:
    """The raw body, or None once it is known to exceed `cap` (never read whole)."""
    length = headers.get(b"content-length", b"")
    if length.isdigit() and int(length) > cap:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


# --- field types of the API models -------------------------------------------------------------


def _clean(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError(CONTROL_MESSAGE)
    return value


def _clean_secret(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise ValueError("must not be empty")
    _clean(value.get_secret_value())
    return value


# Every string field of a request model is one of these (tests/unit/webhook/test_boundary.py
# checks the models behind the OpenAPI document): bounded, and no control characters.
# Names and tokens are free text on one line; their surrounding whitespace is dropped, so one of
# only spaces is empty. Ids are what Meta's ids look like (and what fits in a URL path segment).
NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
_NAME_SCHEMA = Field(json_schema_extra={"pattern": NAME_PATTERN})
Id = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=ID_PATTERN)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_clean),
    _NAME_SCHEMA,
]
Token = Annotated[SecretStr, Field(max_length=4 * KiB), AfterValidator(_clean_secret), _NAME_SCHEMA]


def _integral(value: Any) -> Any:
    # JSON Schema counts 60.0 as an integer; strict validation refuses "60", true and 60.5.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Metadata of an integer in a JSON body (bodies are validated strictly: no "60" for 60). Put it
# after the field's own bounds, `Annotated[int, Field(ge=…), INTEGRAL]`, so the bounds stay in the
# JSON schema.
INTEGRAL = BeforeValidator(_integral)


def never_null(*fields: str) -> Callable[[dict[str, Any]], None]:
    """A model's `json_schema_extra`: these optional fields may be left out but never sent as
    null (the document then says so; the model refuses a null)."""

    def edit(schema: dict[str, Any]) -> None:
        for name in fields:
            prop = schema["properties"][name]
            options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
            if len(options) == 1:
                prop.update(options[0])
            prop.pop("default", None)

    return edit


def _ascii_digits(value: Any) -> Any:
    if isinstance(value, str) and not (value.isascii() and value.isdigit() and len(value) <= 9):
        raise ValueError("must be a whole number written with the digits 0-9")
    return value


# An integer from a URL: ASCII digits only ("²".isdigit() is true, int("²") raises).
QueryInt = Annotated[int, BeforeValidator(_ascii_digits)]


def ascii_int(value: str | None) -> int | None:
    """`value` as an int when it is 1-9 ASCII digits, else None."""
    if value is None or not (value.isascii() and value.isdigit() and len(value) <= 9):
        return None
    return int(value)


# --- the middleware ----------------------------------------------------------------------------


def first_control(scope: Scope, body: bytes) -> str | None:
    """The name of the first field (path, query parameter, form field) with a control character."""
    if CONTROL.search(scope["path"]):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        if CONTROL.search(key) or CONTROL.search(value):
            return key if not CONTROL.search(key) else "query"
    headers = dict(scope["headers"])
    if headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded"):
        form = body.decode("utf-8", errors="replace")
        for key, value in parse_qsl(form, keep_blank_values=True):
            if CONTROL.search(key) or CONTROL.search(value):
                return key if not CONTROL.search(key) else "form"
    return None


def refusal(path: str, status: int, message: str, **extra: Any) -> Response:
    """The boundary's answer in the style of the surface: JSON under /api, HTML under /ops."""
    headers = {"Connection": "close"} if status == 413 else None
    if path.startswith("/api/"):
        return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)
    if path.startswith("/ops/"):
        from html import escape

        page = f"<!doctype html><title>Bad request</title><p>{escape(message)}</p>"
        return HTMLResponse(page, status_code=status, headers=headers)
    return PlainTextResponse(message, status_code=status, headers=headers)


class InputBoundary(HttpMiddleware):
    """Reads each request's body under its cap and refuses control characters in any field."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        cap = cap_for(path)
        body = await read_capped(dict(scope["headers"]), receive, cap)
        if body is None:
            # Connection: close, so the rest of an oversized body is never read either.
            await refusal(path, 413, f"request body larger than {describe_cap(cap)}")(scope, receive, send)
            return
        field = first_control(scope, body)
        if field is not None:
            await refusal(path, 422, f"{field}: {CONTROL_MESSAGE}", field=field)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
