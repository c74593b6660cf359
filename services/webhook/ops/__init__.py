"""The ops console at /ops: pages, sync jobs with live progress, the stage board, contact logs."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.webhook.ops import connect_views, views
from services.webhook.ops.session import RequireSession

# Scripts and styles only from files of our own: an injected <script> would not run.
_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def mount() -> Mount:
    """`/ops/*`: everything but the login form and static files needs a session."""
    routes = [
        Route("/login", views.login_form, methods=["GET"]),
        Route("/login", views.login, methods=["POST"]),
        Route("/logout", views.logout, methods=["POST"]),
        Route("/", views.pages, methods=["GET"]),
        Route("/pages/{page_id}", views.page_detail, methods=["GET"]),
        Route("/pages/{page_id}/sync", views.sync_pages, methods=["POST"]),
        Route("/sync", views.sync_pages, methods=["POST"]),
        Route("/connect", connect_views.start, methods=["GET"]),
        Route("/connect", connect_views.connect_selected, methods=["POST"]),
        Route("/connect/callback", connect_views.callback, methods=["GET"]),
        Route("/connect/finish", connect_views.finish, methods=["GET"]),
        Route("/disconnect", connect_views.disconnect, methods=["POST"]),
        Route("/pages/{page_id}/disconnect", connect_views.disconnect, methods=["POST"]),
        Route("/pages/{page_id}/rescore", views.rescore_page, methods=["POST"]),
        Route("/jobs/{job_id}/cancel", views.cancel_job, methods=["POST"]),
        Route("/jobs/{job_id}/items", views.job_items, methods=["GET"]),
        Route("/api/progress", views.progress, methods=["GET"]),
        Route("/stages", views.stage_board, methods=["GET"]),
        Route("/contacts/{contact_id}", views.contact, methods=["GET"]),
        Mount("/static", app=StaticFiles(packages=[("services.webhook.ops", "static")])),
    ]
    return Mount("/ops", routes=routes, middleware=[Middleware(SecurityHeaders), Middleware(RequireSession)])
