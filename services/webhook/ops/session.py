"""The ops console's login session and CSRF guard, both keyed by a secret derived from ADMIN_TOKEN.

The cookie never holds the token: it holds an expiry and an HMAC of it, so rotating ADMIN_TOKEN
ends every session. POST forms carry a CSRF token bound to the session; SameSite=Strict alone
would already stop most cross-site posts, the token covers the rest (old browsers, subdomains).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "leadsync_ops"
MAX_AGE_S = 12 * 3600
# Paths under /ops reachable without a session.
PUBLIC = ("/login", "/static/")


def _key(admin_token: str) -> bytes:
    return hmac.new(admin_token.encode(), b"leadsync-ops-session-v1", hashlib.sha256).digest()


def _sign(admin_token: str, purpose: str, value: str) -> str:
    return hmac.new(_key(admin_token), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def issue(admin_token: str, *, now: float) -> str:
    """A session cookie value: `expiry.hmac`."""
    expires = str(int(now) + MAX_AGE_S)
    return f"{expires}.{_sign(admin_token, 'session', expires)}"


def valid(admin_token: str, cookie: str | None, *, now: float) -> bool:
    if not cookie:
        return False
    expires, _, mac = cookie.partition(".")
    if not expires.isdigit() or int(expires) < now:
        return False
    return hmac.compare_digest(mac, _sign(admin_token, "session", expires))


def csrf_token(admin_token: str, cookie: str) -> str:
    return _sign(admin_token, "csrf", cookie)


def csrf_ok(admin_token: str, cookie: str | None, token: str | None) -> bool:
    if not cookie or not token:
        return False
    return hmac.compare_digest(token, csrf_token(admin_token, cookie))


def password_matches(admin_token: str, offered: str) -> bool:
    return hmac.compare_digest(offered.encode(), admin_token.encode())


def cookie_of(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                if key == COOKIE:
                    return val
    return None


class RequireSession:
    """Sends a visitor without a valid session to the login form (JSON endpoints get 401)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix("/ops")
        token = scope["app"].state.deps.settings.admin_token.get_secret_value()
        if path.startswith(PUBLIC) or valid(token, cookie_of(scope), now=time.time()):
            await self.app(scope, receive, send)
            return
        response: Response
        if path.startswith("/api/"):
            response = JSONResponse({"error": "not logged in to the ops console"}, status_code=401)
        else:
            target = quote("/ops" + path, safe="/")
            response = RedirectResponse(f"/ops/login?next={target}", status_code=303)
        await response(scope, receive, send)
