"""Bearer-token check for /api (constant-time), throttled per client address; the presented
token is never echoed, logged or counted by value."""

from __future__ import annotations

import hmac
import time

from starlette.types import Receive, Scope, Send

from services.webhook.api.errors import error_response
from services.webhook.deps import deps_of
from services.webhook.middleware import HttpMiddleware

SURFACE = "api"


def client_of(scope: Scope) -> str:
    """The client address (uvicorn puts the proxy's X-Forwarded-For here when FORWARDED_ALLOW_IPS
    trusts the proxy)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AdminAuth(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        deps = deps_of(scope)
        client = client_of(scope)
        wait = deps.throttle.retry_after(client, time.monotonic())
        if wait is not None:
            deps.throttle.refused(client, surface=SURFACE)
            response = error_response(
                429, f"too many failed authentications from {client}; try again in {wait} s"
            )
            response.headers["Retry-After"] = str(wait)
            await response(scope, receive, send)
            return
        expected = deps.settings.admin_token.get_secret_value().encode()
        header = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), expected):
            deps.throttle.failed(client, time.monotonic(), surface=SURFACE)
            response = error_response(
                401, "missing or wrong admin token: send Authorization: Bearer <ADMIN_TOKEN>"
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
