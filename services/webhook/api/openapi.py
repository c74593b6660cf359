"""The OpenAPI 3.1 document of the admin API, served at /api/openapi.json.

It is built from the routes themselves (`spec.ApiRoute` carries each route's `Operation`), so
every route under /api is in it; request schemas are the pydantic models that validate the
requests, response schemas are `schemas.RESPONSES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from services.webhook.api.encoding import ApiResponse
from services.webhook.api.schemas import REF, RESPONSES
from services.webhook.api.spec import ApiRoute, Operation

PREFIX = "/api"


def document(routes: Sequence[ApiRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    models: dict[str, type[BaseModel]] = {}
    for route in routes:
        paths.setdefault(PREFIX + route.path, {})[route.method.lower()] = route.operation.openapi(route.path)
        if route.operation.body is not None:
            models[route.operation.body.__name__] = route.operation.body
    schemas: dict[str, Any] = dict(RESPONSES)
    for route in routes:  # the enums a query string names (its parameters refer to them)
        if route.operation.query is not None:
            schemas.update(route.operation.query.model_json_schema(ref_template=REF).get("$defs", {}))
    for name, model in models.items():
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "leadsync admin API",
            "version": "1",
            "description": "Every route needs `Authorization: Bearer <ADMIN_TOKEN>`. Errors "
            'are JSON `{"error": ...}`; a 422 also names the `field`.',
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"admin": []}],
    }


def route(api_routes: list[ApiRoute]) -> ApiRoute:
    """GET /openapi.json, describing `api_routes` and itself."""
    cache: dict[str, Any] = {}

    async def serve(_: Request) -> Response:
        if "doc" not in cache:
            cache["doc"] = document([*api_routes, this])
        return ApiResponse(cache["doc"])

    this = ApiRoute(
        "/openapi.json", serve, "GET", Operation("This document (OpenAPI 3.1)", ((200, "OpenApi"),))
    )
    return this
