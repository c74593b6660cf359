"""The admin API under /api: bearer-token auth, JSON errors, one module per resource."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from services.webhook.api import contacts, jobs, openapi, pages, pipelines, scores
from services.webhook.api.auth import AdminAuth
from services.webhook.api.errors import exception_handlers  # noqa: F401 - re-exported


def mount() -> Mount:
    """`/api/*`, every route behind the admin token."""
    routes: list[BaseRoute] = [
        *pages.routes, *pipelines.routes, *contacts.routes, *scores.routes, *jobs.routes,
        *openapi.routes,
    ]
    return Mount("/api", routes=routes, middleware=[Middleware(AdminAuth)])
