"""How an admin API route is declared: the route and its OpenAPI entry in one place.

Every route under /api is an `ApiRoute(path, endpoint, method, Operation(...))`, written next to
its handler in the resource's module. `openapi.document()` is built from these routes alone, so a
route cannot exist without its documentation (tests/integration/test_api_contract.py compares the
document with the app's router). Request bodies and query strings are pydantic models — the same
ones that validate them — and responses name a schema of `schemas.RESPONSES`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from services.webhook.api.schemas import REF
from services.webhook.boundary import ID_PATTERN

REASONS = {
    400: "the body is not JSON",
    401: "missing or wrong admin token",
    404: "no such resource (also a malformed id)",
    409: "conflicts with the resource's state",
    413: "request body larger than 1 MiB",
    422: "invalid input; `field` names it",
    429: "too many failed authentications from this address; see Retry-After",
    502: "Meta refused the request or did not answer; `error` says what to do",
    503: "a dependency is not configured or not reachable",
}
# Every operation may answer these: auth, the input boundary and the auth throttle.
ALWAYS = (401, 422, 429)
# `Operation.path_schemas` of the path parameters; a parameter without a schema is a plain string.
UUID_PATH = {"type": "string", "format": "uuid"}
PAGE_ID = {"page_id": {"type": "string", "pattern": ID_PATTERN, "maxLength": 100}}
JOB_ID = {"job_id": UUID_PATH}
PIPELINE_ID = {"pipeline_id": UUID_PATH}
CONTACT_ID = {"contact_id": UUID_PATH}


@dataclass(frozen=True)
class Operation:
    summary: str
    ok: tuple[tuple[int, str], ...]  # (status, response schema) of each success
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    path_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str | None = None

    def openapi(self, path: str) -> dict[str, Any]:
        params = re.findall(r"{(\w+)}", path)
        codes = {*ALWAYS, *self.errors}
        if params:
            codes.add(404)
        if self.body is not None:
            codes |= {400, 413, 422}
        responses = {str(status): _json(schema, "success") for status, schema in self.ok}
        responses |= {str(code): _json("Error", REASONS[code]) for code in sorted(codes)}
        responses["429"]["headers"] = {
            "Retry-After": {
                "description": "seconds until this address may try again",
                "schema": {"type": "integer"},
            }
        }
        op: dict[str, Any] = {"summary": self.summary, "responses": responses}
        if self.description:
            op["description"] = self.description
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": self.path_schemas.get(name, {"type": "string"}),
            }
            for name in params
        ]
        if self.query is not None:
            props = self.query.model_json_schema(ref_template=REF)["properties"]
            parameters += [
                {"name": name, "in": "query", "required": False, "schema": schema}
                for name, schema in props.items()
            ]
        if parameters:
            op["parameters"] = parameters
        if self.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": REF.format(model=self.body.__name__)}}},
            }
        return op


def _json(name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model=name)}}},
    }


Endpoint = Callable[[Request], Awaitable[Response]]


class ApiRoute(Route):
    """A Starlette route of one method that carries its OpenAPI operation."""

    def __init__(self, path: str, endpoint: Endpoint, method: str, operation: Operation) -> None:
        super().__init__(path, endpoint, methods=[method])
        self.method = method
        self.operation = operation

    # Every method the path answers (set by `link_methods`): a 405 lists them all in Allow.
    path_methods: tuple[str, ...] = ()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in (self.methods or ()):
            from services.webhook.api.errors import error_response

            allow = ", ".join(self.path_methods or (self.method,))
            response = error_response(405, f"{scope['method']} is not allowed here; use {allow}")
            response.headers["Allow"] = allow
            await response(scope, receive, send)
            return
        await super().handle(scope, receive, send)


def link_methods(routes: list[ApiRoute]) -> None:
    """Tell each route every method of its path, for the Allow header of a 405."""
    by_path: dict[str, list[str]] = {}
    for route in routes:
        by_path.setdefault(route.path, []).append(route.method)
    for route in routes:
        route.path_methods = tuple(by_path[route.path])
