"""Bearer-token check for /api (constant-time); the token is never echoed or logged."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from services.webhook.api.errors import error_response


class AdminAuth:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        expected = scope["app"].state.deps.settings.admin_token.get_secret_value().encode()
        header = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), expected):
            response = error_response(
                401, "missing or wrong admin token: send Authorization: Bearer <ADMIN_TOKEN>"
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
