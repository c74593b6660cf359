"""The ops console's sessions, kept on the server (table console_sessions), and its CSRF guard.

Signing in opens a session: the cookie holds a random id (32 bytes), the table its SHA-256, the
session's own random CSRF token, and a fingerprint of the ADMIN_TOKEN it was opened with. A
session ends after IDLE_S without a request, MAX_AGE_S after it began, at logout (its row is
deleted, so a copy of the cookie is worthless), and when ADMIN_TOKEN changes (the fingerprint no
longer matches). Nothing is signed with a key derived from ADMIN_TOKEN, so a cookie tells
nothing about the token. Other features may tie their own rows to `Session.key` (e.g. an OAuth
`state` bound to the session that asked for it).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

import asyncpg
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from services.webhook.deps import deps_of
from services.webhook.middleware import HttpMiddleware

COOKIE = "leadsync_ops"
IDLE_S = 30 * 60
MAX_AGE_S = 12 * 3600
# Paths under /ops reachable without a session.
# /connect/callback only bounces to /connect/finish: a navigation from facebook.com carries no
# SameSite=Strict cookie, the bounce from our own page does.
PUBLIC = ("/login", "/static/", "/connect/callback")
# Requests that do not count as activity (the live progress poll would keep a session alive).
PASSIVE = ("/api/",)
_FINGERPRINT_ROUNDS = 100_000


@dataclass(frozen=True)
class Session:
    key: str  # hex SHA-256 of the session id: what other tables may reference
    csrf: str


@functools.cache
def admin_fingerprint(admin_token: str) -> bytes:
    """A slow, salted hash of ADMIN_TOKEN (computed once per process): which token a session
    belongs to, without keeping anything that makes guessing the token cheap."""
    return hashlib.pbkdf2_hmac(
        "sha256", admin_token.encode(), b"leadsync-console-session", _FINGERPRINT_ROUNDS
    )


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


async def open_session(pool: asyncpg.Pool, admin_token: str) -> tuple[str, Session]:
    """A new session: (the cookie value, the session). Ended sessions are swept here."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_hex(32)
    async with pool.acquire() as conn:
        await conn.execute(
            "DELETE FROM console_sessions WHERE expires_at < now() "
            "OR last_seen_at < now() - make_interval(secs => $1)",
            IDLE_S,
        )
        await conn.execute(
            """INSERT INTO console_sessions (id_hash, csrf, admin_fp, expires_at)
               VALUES ($1, $2, $3, now() + make_interval(secs => $4))""",
            _hash(session_id),
            csrf,
            admin_fingerprint(admin_token),
            MAX_AGE_S,
        )
    return session_id, Session(_hash(session_id).hex(), csrf)


async def current(
    pool: asyncpg.Pool, admin_token: str, cookie: str | None, *, touch: bool = True
) -> Session | None:
    """The live session this cookie names (its idle timer restarted when `touch`), or None."""
    if not cookie or len(cookie) > 100:
        return None
    row = await pool.fetchrow(
        """
        UPDATE console_sessions SET last_seen_at = CASE WHEN $4 THEN now() ELSE last_seen_at END
        WHERE id_hash = $1 AND admin_fp = $2 AND expires_at > now()
          AND last_seen_at > now() - make_interval(secs => $3)
        RETURNING csrf
        """,
        _hash(cookie),
        admin_fingerprint(admin_token),
        IDLE_S,
        touch,
    )
    return Session(_hash(cookie).hex(), row["csrf"]) if row else None


async def close(pool: asyncpg.Pool, cookie: str | None) -> None:
    """End the session for good: the same cookie, replayed, is no session."""
    if cookie:
        await pool.execute("DELETE FROM console_sessions WHERE id_hash = $1", _hash(cookie))


def csrf_ok(session: Session | None, token: str | None) -> bool:
    if session is None or not token:
        return False
    return hmac.compare_digest(token.encode(), session.csrf.encode())


def password_matches(admin_token: str, offered: str) -> bool:
    return hmac.compare_digest(offered.encode(), admin_token.encode())


def cookie_of(scope: Scope) -> str | None:
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                if key == COOKIE:
                    return val
    return None


def session_of(scope: Scope) -> Session | None:
    """The session RequireSession found for this request."""
    session: Session | None = scope.get("state", {}).get("session")
    return session


class RequireSession(HttpMiddleware):
    """Sends a visitor without a live session to the login form (JSON endpoints get 401)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"].removeprefix("/ops")
        if path.startswith(PUBLIC):
            await self.app(scope, receive, send)
            return
        deps = deps_of(scope)
        token = deps.settings.admin_token.get_secret_value()
        found = await current(deps.pool, token, cookie_of(scope), touch=not path.startswith(PASSIVE))
        if found is not None:
            scope.setdefault("state", {})["session"] = found
            await self.app(scope, receive, send)
            return
        response: Response
        if path.startswith("/api/"):
            response = JSONResponse({"error": "not logged in to the ops console"}, status_code=401)
        else:
            target = quote("/ops" + path, safe="/")
            response = RedirectResponse(f"/ops/login?next={target}", status_code=303)
        await response(scope, receive, send)
