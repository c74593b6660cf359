"""The console's "Connect pages" flow (Facebook Login for Business) and its disconnect screens.

`/ops/connect` → Meta's dialog with a single-use `state` bound to the session (10 minutes) →
`/ops/connect/callback` (public: the session cookie is SameSite=Strict, so a navigation coming
from facebook.com does not carry it; the callback only bounces to our own origin) →
`/ops/connect/finish` (signed in): state checked and spent, code exchanged, long-lived user
token, every page of `/me/accounts` → a picker. The picker's form carries the user token sealed
with TOKEN_ENCRYPTION_KEY and bound to the session (10 minutes); it is never stored.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import orjson
from cryptography.fernet import Fernet, InvalidToken
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from services.webhook import connect
from services.webhook.deps import deps_of
from services.webhook.ops import session
from services.webhook.ops.html import csrf_field, e, layout
from services.webhook.ops.views import _checked_form, _csrf, _field, _html, _with_notice
from shared.errors import ConnectError, GraphError
from shared.meta_app import LOGIN_SCOPES, PAGE_SCOPES

STATE_TTL_S = 600

DENIED = {
    "access_denied": "You cancelled the Facebook dialog (or declined the permissions): no page "
    "was connected.",
}


def _session_key(request: Request) -> str:
    """The signed-in session's key (RequireSession let the request through only with one)."""
    found = session.session_of(request.scope)
    assert found is not None
    return found.key


def _fail(request: Request, message: str, status: int = 400) -> Response:
    body = (
        f'<section class="connect"><h1>Connect pages</h1><p class="error" role="alert">'
        f'{e(message)}</p><p><a class="button primary" href="/ops/connect">Try again</a> '
        f'<a class="button" href="/ops/">Back to pages</a></p></section>'
    )
    return _html(layout("Connect pages", body, csrf=_csrf(request), nav="pages"), status)


def not_configured(request: Request) -> Response:
    body = (
        '<section class="connect"><h1>Connect pages</h1><p>Connecting pages with Facebook '
        "Login needs the Meta app: set <code>META_APP_ID</code> and <code>META_APP_SECRET</code> "
        "(and <code>PUBLIC_URL</code>, <code>TOKEN_ENCRYPTION_KEY</code>) on the webhook service "
        "and restart it. docs/operations.md says what to enter in the Meta app dashboard.</p>"
        '<p><a class="button" href="/ops/">Back to pages</a></p></section>'
    )
    return _html(layout("Connect pages", body, csrf=_csrf(request), nav="pages"), 503)


async def start(request: Request) -> Response:
    deps = deps_of(request)
    if deps.meta is None or deps.cipher is None:
        return not_configured(request)
    state = secrets.token_urlsafe(32)
    await deps.pool.execute(
        "DELETE FROM oauth_states WHERE created_at < now() - make_interval(secs => $1)",
        float(STATE_TTL_S * 6),
    )
    await deps.pool.execute(
        "INSERT INTO oauth_states (state, session_key) VALUES ($1, $2)", state, _session_key(request)
    )
    settings = deps.settings
    query = {
        "client_id": deps.meta.app_id,
        "redirect_uri": redirect_uri(request),
        "state": state,
        "response_type": "code",
    }
    if settings.meta_login_config_id:
        query["config_id"] = settings.meta_login_config_id
    else:
        query["scope"] = ",".join(LOGIN_SCOPES)
    dialog = (
        f"{settings.meta_web_base_url.rstrip('/')}/{settings.graph_api_version}/dialog/oauth?"
        f"{urlencode(query)}"
    )
    return RedirectResponse(dialog, status_code=303)


def redirect_uri(request: Request) -> str:
    return str(deps_of(request).settings.public_base) + "/ops/connect/callback"


async def callback(request: Request) -> Response:
    """Public: bounce to /ops/connect/finish on our own origin, where the session cookie goes."""
    target = "/ops/connect/finish?" + urlencode(
        {
            k: v
            for k, v in request.query_params.items()
            if k in {"code", "state", "error", "error_reason", "error_description"}
        }
    )
    return HTMLResponse(
        f'<!doctype html><meta http-equiv="refresh" content="0;url={e(target)}">'
        f'<title>Connecting…</title><p><a href="{e(target)}">Continue</a></p>',
        headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
    )


async def finish(request: Request) -> Response:
    deps = deps_of(request)
    if deps.meta is None or deps.cipher is None:
        return not_configured(request)
    q = request.query_params
    spent = await deps.pool.fetchval(
        """UPDATE oauth_states SET used_at = now()
           WHERE state = $1 AND session_key = $2 AND used_at IS NULL
             AND created_at > now() - make_interval(secs => $3)
           RETURNING true""",
        q.get("state", "")[:200],
        _session_key(request),
        float(STATE_TTL_S),
    )
    if not spent:
        return _fail(
            request,
            "This Facebook sign-in is no longer valid (it was used already, is "
            "older than 10 minutes or belongs to another console session): "
            "click Connect pages again.",
        )
    if q.get("error"):
        return _fail(
            request, DENIED.get(q["error"], f"Facebook answered: {q.get('error_description') or q['error']}")
        )
    if not q.get("code"):
        return _fail(request, "Facebook sent no code back: click Connect pages again.")
    try:
        short = await deps.meta.exchange_code(q["code"], redirect_uri(request))
        user_token = await deps.meta.long_lived(short)
        granted = (await deps.meta.debug_token(user_token)).get("scopes") or []
        missing = [scope for scope in PAGE_SCOPES if scope not in granted]
        if missing:
            return _fail(
                request,
                f"Facebook did not grant {', '.join(missing)}: leadsync needs "
                "them to read and receive your pages' messages. Click Connect "
                "pages again and allow every permission; nothing was stored.",
            )
        found = await connect.discover(deps, user_token)
    except ConnectError as err:
        return _fail(request, err.message, err.status if err.status >= 400 else 400)
    except GraphError as err:
        return _fail(request, connect.meta_error(err, "signing you in").message)
    if not found.pages:
        return _fail(
            request,
            "Your Facebook account manages no page this app may use: allow at least one page in the dialog.",
        )
    listing = await connect.listing(deps.pool, found)
    sealed = _seal(deps, user_token, _session_key(request))
    subscription: dict[str, Any] | None
    try:
        subscription = await connect.app_subscription_status(deps.meta, connect.callback_of(deps))
    except ConnectError:
        subscription = None
    return _html(picker(listing, found.user, sealed=sealed, csrf=_csrf(request), subscription=subscription))


def _fernet(deps: Any) -> Fernet:
    key = deps.settings.token_encryption_key
    assert key is not None
    return Fernet(key.get_secret_value().encode())


def _seal(deps: Any, user_token: str, session_key: str) -> str:
    return _fernet(deps).encrypt(orjson.dumps({"t": user_token, "s": session_key})).decode()


def _unseal(deps: Any, sealed: str | None, session_key: str) -> str | None:
    if not sealed:
        return None
    try:
        data = orjson.loads(_fernet(deps).decrypt(sealed.encode(), ttl=STATE_TTL_S))
    except (InvalidToken, orjson.JSONDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("s") != session_key:
        return None
    token = data.get("t")
    return token if isinstance(token, str) else None


def picker(
    pages: list[dict[str, Any]],
    user: dict[str, str],
    *,
    sealed: str,
    csrf: str,
    subscription: dict[str, Any] | None,
) -> str:
    rows = []
    for p in pages:
        pid = e(p["id"])
        broken = p["connected"] and p["health_status"] not in (None, "ok")
        mark = (
            '<span class="tag reconnect">needs reconnecting</span>'
            if broken
            else '<span class="tag connected">connected</span>'
            if p["connected"]
            else ""
        )
        ig = (
            f'<span class="tag instagram">Instagram @{e(p["instagram_username"] or "")}</span>'
            if p["instagram_account_id"]
            else ""
        )
        rows.append(f"""<li><label><input type="checkbox" name="page_id" value="{pid}"
            {"" if p["connected"] and not broken else "checked"}> <strong>{e(p["name"])}</strong>
            <span class="muted small">{pid}</span> {ig} {mark}</label></li>""")
    warning = ""
    if subscription is not None and not subscription["complete"]:
        warning = (
            '<p class="warning" role="status">The app-level webhook subscription is '
            "incomplete; connecting sets it (Meta verifies "
            f"{e(subscription['callback_url'])} first).</p>"
        )
    body = f"""
<section class="connect">
  <h1>Connect pages</h1>
  <p>Signed in to Facebook as <strong>{e(user.get("name") or user.get("id"))}</strong>. Pick the
  pages leadsync should read; connected ones are marked (ticking one reconnects it).</p>
  {warning}
  <form method="post" action="/ops/connect" id="connect-pages">
    {csrf_field(csrf)}<input type="hidden" name="sealed" value="{e(sealed)}">
    <ul class="connect-pages">{"".join(rows)}</ul>
    <label><input type="checkbox" name="backfill" value="1" checked> Start a full sync of each
      page (analyses its existing conversations)</label>
    <p><button type="submit" class="primary">Connect selected pages</button>
       <a class="button" href="/ops/">Cancel</a></p>
  </form>
</section>"""
    return layout("Connect pages", body, csrf=csrf, nav="pages")


async def connect_selected(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    deps = deps_of(request)
    if deps.meta is None or deps.cipher is None:
        return not_configured(request)
    user_token = _unseal(deps, _field(form, "sealed"), _session_key(request))
    if user_token is None:
        return _fail(
            request,
            "This page list expired (10 minutes) or belongs to another session: click Connect pages again.",
        )
    ids = [i for i in form.get("page_id", []) if i][:100]
    if not ids:
        return _fail(request, "Select at least one page to connect.")
    try:
        found = await connect.discover(deps, user_token)
        result = await connect.connect(deps, found, ids, backfill=_field(form, "backfill") == "1")
    except ConnectError as err:
        return _fail(request, err.message, err.status if err.status >= 400 else 400)
    request.app.state.subscription_warning = None  # connecting set it: ask Meta again
    notice = f"Connected {len(result['connected'])} page{'s' if len(result['connected']) != 1 else ''}."
    if result["jobs"]:
        notice += " Their first sync is running."
    if result["failed"]:
        notice += " Not connected: " + "; ".join(f"{f['id']}: {f['error']}" for f in result["failed"])
    return RedirectResponse(_with_notice("/ops/", notice), status_code=303)


async def disconnect(request: Request) -> Response:
    """Disconnect one page (/pages/{id}/disconnect) or the selection (/disconnect): the first
    POST shows a confirmation naming how many contacts "forget" deletes; `confirm=1` does it."""
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    deps = deps_of(request)
    ids = (
        [request.path_params["page_id"]]
        if "page_id" in request.path_params
        else [i for i in form.get("page_id", []) if i][:500]
    )
    if not ids:
        return RedirectResponse(_with_notice("/ops/", "Select at least one page."), status_code=303)
    if _field(form, "confirm") != "1":
        contacts = await connect.contacts_of(deps.pool, ids)
        names = [
            r["name"]
            for r in await deps.pool.fetch(
                "SELECT name FROM pages WHERE id = ANY($1::text[]) ORDER BY lower(name)", ids
            )
        ]
        return _html(confirm_disconnect(ids, names, contacts, csrf=_csrf(request)))
    forget = _field(form, "forget") == "1"
    done = []
    for page_id in ids:
        if await connect.disconnect(deps.pool, deps.cipher, deps.meta, page_id, forget=forget):
            done.append(page_id)
    notice = f"Disconnected {len(done)} page{'s' if len(done) != 1 else ''}" + (
        " and deleted their data." if forget else "; their history is kept."
    )
    return RedirectResponse(_with_notice("/ops/", notice), status_code=303)


def confirm_disconnect(ids: list[str], names: list[str], contacts: int, *, csrf: str) -> str:
    hidden = "".join(f'<input type="hidden" name="page_id" value="{e(i)}">' for i in ids)
    body = f"""
<section class="connect">
  <h1>Disconnect {len(ids)} page{"s" if len(ids) != 1 else ""}?</h1>
  <p>{e(", ".join(names))}</p>
  <p>leadsync stops receiving their messages (the webhook subscription is removed), drops their
  access tokens and turns auto sync off. Their contacts and history stay unless you tick below.</p>
  <form method="post" action="/ops/disconnect" id="confirm-disconnect">
    {csrf_field(csrf)}{hidden}<input type="hidden" name="confirm" value="1">
    <label><input type="checkbox" name="forget" value="1"> Also delete their data:
      <strong class="forget-count">{contacts} contact{"s" if contacts != 1 else ""}</strong> with
      their messages, activities, scores and job items</label>
    <p><button type="submit" class="danger">Disconnect</button>
       <a class="button" href="/ops/">Cancel</a></p>
  </form>
</section>"""
    return layout("Disconnect pages", body, csrf=csrf, nav="pages")
