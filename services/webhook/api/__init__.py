"""The admin API under /api: bearer-token auth, JSON errors, one module per resource.

A new route is an `spec.ApiRoute` in its resource's `routes` list (documented by its
`Operation`), and the resource's list is added to `RESOURCES` below; see docs/architecture.md.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import Mount

from services.webhook.api import connect, contacts, jobs, openapi, pages, pipelines, scores
from services.webhook.api.auth import AdminAuth
from services.webhook.api.errors import InternalErrors
from services.webhook.api.spec import ApiRoute, link_methods

RESOURCES: list[list[ApiRoute]] = [
    pages.routes,
    pipelines.routes,
    contacts.routes,
    scores.routes,
    jobs.routes,
    connect.routes,
]


def mount() -> Mount:
    """`/api/*`: every route behind the admin token, none answering an unhandled 500."""
    routes = [route for resource in RESOURCES for route in resource]
    routes.append(openapi.route(routes))
    link_methods(routes)
    return Mount("/api", routes=list(routes), middleware=[Middleware(InternalErrors), Middleware(AdminAuth)])
