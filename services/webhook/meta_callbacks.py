"""Meta's platform callbacks (DESIGN §3): deauthorize and data deletion, with its status page.

Both are public POSTs from Meta carrying `signed_request`; a bad one is 400 and changes nothing.
Deauthorize disconnects the pages that person connected; data deletion disconnects and forgets
them, records the request and answers with its status URL and confirmation code.
"""

from __future__ import annotations

import html
import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import structlog
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from services.webhook import connect
from services.webhook.deps import deps_of
from services.webhook.signed_request import verify
from shared.errors import BadSignedRequest

if TYPE_CHECKING:
    from services.webhook.deps import Deps

log = structlog.get_logger("leadsync.webhook.meta")


async def _user_of(request: Request) -> str | None:
    deps: Deps = deps_of(request)
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    values = form.get("signed_request") or []
    signed = values[-1] if values else None
    try:
        payload = verify(signed, deps.settings.app_secrets)
    except BadSignedRequest as err:
        log.warning("meta.callback_refused", path=request.url.path, reason=str(err))
        return None
    return str(payload["user_id"])


def _bad() -> Response:
    return JSONResponse({"error": "signed_request is missing or not signed by this app"}, status_code=400)


async def _disconnect_all(deps: Deps, user_id: str, *, forget: bool) -> list[str]:
    page_ids = await connect.pages_of_user(deps.pool, user_id)
    for page_id in page_ids:
        await connect.disconnect(deps.pool, deps.cipher, deps.meta, page_id, forget=forget)
    return page_ids


async def deauthorize(request: Request) -> Response:
    user_id = await _user_of(request)
    if user_id is None:
        return _bad()
    page_ids = await _disconnect_all(deps_of(request), user_id, forget=False)
    log.info("meta.deauthorized", pages=len(page_ids))
    return JSONResponse({"disconnected": page_ids})


async def data_deletion(request: Request) -> Response:
    user_id = await _user_of(request)
    if user_id is None:
        return _bad()
    deps: Deps = deps_of(request)
    page_ids = await _disconnect_all(deps, user_id, forget=True)
    code = secrets.token_hex(10)
    await deps.pool.execute(
        "INSERT INTO data_deletions (code, user_id, page_ids, status, completed_at) "
        "VALUES ($1, $2, $3, 'completed', now())",
        code,
        user_id,
        page_ids,
    )
    log.info("meta.data_deleted", pages=len(page_ids), confirmation_code=code)
    return JSONResponse(
        {"url": f"{deps.settings.public_base}/meta/data-deletion/{code}", "confirmation_code": code}
    )


async def deletion_status(request: Request) -> Response:
    code = request.path_params["code"]
    row = None
    if code.isascii() and code.isalnum() and len(code) <= 64:
        row = await deps_of(request).pool.fetchrow(
            "SELECT status, created_at, completed_at, jsonb_array_length(page_ids) AS pages "
            "FROM data_deletions WHERE code = $1",
            code,
        )
    if row is None:
        return HTMLResponse(
            "<!doctype html><title>Not found</title><p>No data-deletion request "
            "has this confirmation code.</p>",
            status_code=404,
        )
    done = row["completed_at"].strftime("%Y-%m-%d %H:%M UTC") if row["completed_at"] else "—"
    return HTMLResponse(
        "<!doctype html><title>Data deletion</title><h1>Your data-deletion request</h1>"
        f"<p>Confirmation code: <code>{html.escape(code)}</code></p>"
        f"<p>Status: <strong>{html.escape(row['status'])}</strong> (completed {done}). "
        f"{row['pages']} connected page(s) were disconnected and their conversations, contacts "
        "and scores deleted from leadsync.</p>"
    )


routes = [
    Route("/meta/deauthorize", deauthorize, methods=["POST"]),
    Route("/meta/data-deletion", data_deletion, methods=["POST"]),
    Route("/meta/data-deletion/{code}", deletion_status, methods=["GET"]),
]
