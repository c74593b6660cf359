"""Request handlers of the ops console: read the tables, render a screen, or run a button's action."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlencode

import structlog
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from services.webhook import connect
from services.webhook.api.jobs import RescoreBody
from services.webhook.api.scores import calibration
from services.webhook.boundary import ascii_int
from services.webhook.deps import deps_of
from services.webhook.ops import actions, queries, screens, session
from services.webhook.ops.html import layout
from services.webhook.settings import WebhookSettings
from shared import job_admin
from shared.errors import ConnectError
from shared.text import is_uuid
from shared.vocabulary import JobKind

PER_PAGE = 20
PER_STAGE = 30
PER_ITEMS = 100

log = structlog.get_logger("leadsync.webhook.ops")


def _settings(request: Request) -> WebhookSettings:
    settings: WebhookSettings = deps_of(request).settings
    return settings


def _token(request: Request) -> str:
    return _settings(request).admin_token.get_secret_value()


def _csrf(request: Request) -> str:
    current = session.session_of(request.scope)
    return current.csrf if current is not None else ""


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _safe_next(value: str | None, default: str = "/ops/") -> str:
    """Only redirect inside the console (no open redirect to another site)."""
    if value and value.startswith("/ops") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def _with_notice(path: str, notice: str) -> str:
    base, _, query = path.partition("?")
    params = {k: v[-1] for k, v in parse_qs(query).items() if k != "notice"}
    params["notice"] = notice
    return f"{base}?{urlencode(params)}"


async def _form(request: Request) -> dict[str, list[str]]:
    # The input boundary already capped the body (64 KiB) and refused control characters.
    body = await request.body()
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def _field(form: dict[str, list[str]], name: str) -> str | None:
    """The last value of a form field (browsers send one), or None."""
    values = form.get(name)
    return values[-1] if values else None


async def _checked_form(request: Request) -> dict[str, list[str]] | Response:
    """The POSTed form, or a 403 when the CSRF token (or the Origin) does not match."""
    # Compared with PUBLIC_URL, not with what this process sees (behind a TLS proxy it sees http).
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() not in _settings(request).allowed_origins():
        return _html("<p>Cross-site request refused.</p>", 403)
    form = await _form(request)
    token = _field(form, "csrf") or request.headers.get("x-csrf-token")
    if not session.csrf_ok(session.session_of(request.scope), token):
        return _html("<p>The form expired: reload the page and try again.</p>", 403)
    return form


async def login_form(request: Request) -> Response:
    return _html(screens.login(next_path=_safe_next(request.query_params.get("next"))))


async def login(request: Request) -> Response:
    deps = deps_of(request)
    client = request.client.host if request.client else "unknown"
    form = await _form(request)
    next_path = _safe_next(_field(form, "next"))
    wait = deps.throttle.retry_after(client, time.monotonic())
    if wait is not None:
        deps.throttle.refused(client, surface="ops_login")
        page = screens.login(
            next_path=next_path, error=f"Too many failed sign-ins from your address: try again in {wait} s."
        )
        return HTMLResponse(
            page, status_code=429, headers={"Retry-After": str(wait), "Cache-Control": "no-store"}
        )
    offered = _field(form, "token") or ""
    if not offered or not session.password_matches(_token(request), offered):
        deps.throttle.failed(client, time.monotonic(), surface="ops_login")
        return _html(screens.login(next_path=next_path, error="Wrong admin token."), 401)
    cookie, _ = await session.open_session(deps.pool, _token(request))
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        session.COOKIE,
        cookie,
        max_age=session.MAX_AGE_S,
        path="/ops",
        httponly=True,
        samesite="strict",
        secure=_settings(request).secure_cookies,
    )
    return response


async def logout(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    await session.close(deps_of(request).pool, session.cookie_of(request.scope))
    response = RedirectResponse("/ops/login", status_code=303)
    response.delete_cookie(
        session.COOKIE,
        path="/ops",
        secure=_settings(request).secure_cookies,
        httponly=True,
        samesite="strict",
    )
    return response


async def pages(request: Request) -> Response:
    pool = deps_of(request).pool
    search = request.query_params.get("q", "").strip()[:200]
    page_no = max(_int(request.query_params.get("p"), 1), 1)
    rows, total = await queries.pages(pool, search=search, offset=(page_no - 1) * PER_PAGE, limit=PER_PAGE)
    return _html(
        screens.pages(
            rows,
            total=total,
            search=search,
            page_no=page_no,
            pages_count=max(math.ceil(total / PER_PAGE), 1),
            now=datetime.now(UTC),
            csrf=_csrf(request),
            back=_back(request),
            notice=request.query_params.get("notice", ""),
            connect=screens.connect_bar(
                meta_ready=deps_of(request).meta is not None,
                subscription_warning=await _subscription_warning(request),
            ),
        )
    )


SUBSCRIPTION_CHECK_S = 60.0


async def _subscription_warning(request: Request) -> str:
    """A warning when Meta's app-level subscription misses something; asked at most once a minute."""
    deps = deps_of(request)
    if deps.meta is None:
        return ""
    cached = getattr(request.app.state, "subscription_warning", None)
    now = time.monotonic()
    if cached is not None and now - cached[0] < SUBSCRIPTION_CHECK_S:
        return str(cached[1])
    try:
        status = await connect.app_subscription_status(deps.meta, connect.callback_of(deps))
        warning = (
            ""
            if status["complete"]
            else (
                "Meta's app-level webhook subscription is missing fields or points elsewhere: "
                "connect a page or POST /api/meta/subscription to set it."
            )
        )
    except ConnectError as err:
        warning = f"The app-level webhook subscription could not be read: {err.message}"
    request.app.state.subscription_warning = (now, warning)
    return warning


def _back(request: Request) -> str:
    query = urlencode({k: v for k, v in request.query_params.items() if k != "notice"})
    return request.url.path + (f"?{query}" if query else "")


def _int(value: str | None, default: int) -> int:
    number = ascii_int(value)  # "²".isdigit() is true, int("²") raises
    return default if number is None else number


async def page_detail(request: Request) -> Response:
    pool = deps_of(request).pool
    page_id = request.path_params["page_id"]
    row = await queries.page(pool, page_id)
    if row is None:
        return _html(layout("Not found", "<p>No such page.</p>", csrf=_csrf(request)), 404)
    jobs = await queries.page_jobs(pool, page_id)
    return _html(
        screens.page_detail(
            row,
            jobs,
            now=datetime.now(UTC),
            csrf=_csrf(request),
            back=_back(request),
            notice=request.query_params.get("notice", ""),
            rescore=await queries.latest_rescore(pool, page_id),
        )
    )


async def sync_pages(request: Request) -> Response:
    """Sync one page (/pages/{id}/sync) or every selected page (/sync, bulk)."""
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    ids = [request.path_params["page_id"]] if "page_id" in request.path_params else form.get("page_id", [])
    kind = JobKind.INCREMENTAL if _field(form, "mode") == "incremental" else JobKind.FULL
    back = _safe_next(_field(form, "next"))
    if not ids:
        return RedirectResponse(_with_notice(back, "Select at least one page."), status_code=303)
    deps = deps_of(request)
    outcome = await actions.sync_pages(deps.pool, deps.publisher, ids, kind)
    return RedirectResponse(_with_notice(back, _sync_notice(outcome, kind)), status_code=303)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _sync_notice(outcome: actions.SyncOutcome, kind: str) -> str:
    parts = []
    if outcome.started:
        parts.append(f"Started {_plural(len(outcome.started), kind.lower() + ' sync')}.")
    if outcome.already_running:
        parts.append(f"{_plural(len(outcome.already_running), 'page')} already had a job running.")
    if outcome.need_token:
        parts.append(
            f"{_plural(len(outcome.need_token), 'page')} need a valid access token first "
            "(PATCH /api/pages/{id})."
        )
    if outcome.not_announced:
        parts.append("RabbitMQ is unreachable: the scheduler starts the jobs once it is back.")
    return " ".join(parts) or "No such page."


async def rescore_page(request: Request) -> Response:
    """The Dry run and Apply buttons: a RESCORE job of the page, dry or real."""
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    page_id = request.path_params["page_id"]
    back = _safe_next(_field(form, "next"), f"/ops/pages/{quote(page_id, safe='')}")
    deps = deps_of(request)
    if await queries.page(deps.pool, page_id) is None:
        return RedirectResponse(_with_notice(back, "No such page."), status_code=303)
    version = (_field(form, "prompt_version") or "").strip() or None
    try:
        RescoreBody(dry_run=True, prompt_version=version)
    except ValidationError:
        return RedirectResponse(
            _with_notice(back, "A prompt version is letters, digits, '.', '_', ':' or '-' (up to 100)."),
            status_code=303,
        )
    notice = await actions.rescore(
        deps.pool, deps.publisher, page_id, dry_run=_field(form, "dry_run") != "0", prompt_version=version
    )
    return RedirectResponse(_with_notice(back, notice), status_code=303)


async def cancel_job(request: Request) -> Response:
    form = await _checked_form(request)
    if isinstance(form, Response):
        return form
    back = _safe_next(_field(form, "next"))
    cancelled = await job_admin.cancel(deps_of(request).pool, request.path_params["job_id"])
    notice = "Job cancelled." if cancelled else "That job had already ended."
    return RedirectResponse(_with_notice(back, notice), status_code=303)


async def job_items(request: Request) -> Response:
    """A job's FAILED items, PER_ITEMS at a time (jobs.errors holds only the first 100)."""
    pool = deps_of(request).pool
    job = await job_admin.get(pool, request.path_params["job_id"])
    if job is None:
        return _html(layout("Not found", "<p>No such job.</p>", csrf=_csrf(request)), 404)
    cursor = request.query_params.get("cursor")
    after = job_admin.decode_item_cursor(cursor) if cursor and ":" in cursor else None
    items, next_after = await job_admin.items(pool, job["id"], outcome="FAILED", after=after, limit=PER_ITEMS)
    next_cursor = job_admin.encode_item_cursor(next_after) if next_after else None
    return _html(screens.job_items(job, items, next_cursor=next_cursor, csrf=_csrf(request)))


async def progress(request: Request) -> Response:
    """JSON for the live parts: the latest job of each `page` and each `job` asked for, and
    each page's last sync and contact count."""
    page_ids = request.query_params.getlist("page")[:200]
    job_ids = [j for j in request.query_params.getlist("job")[:200] if is_uuid(j)]
    pool = deps_of(request).pool
    jobs = await queries.progress(pool, page_ids=page_ids, job_ids=job_ids)
    pages = await queries.page_counters(pool, page_ids) if page_ids else []
    return JSONResponse({"jobs": jobs, "pages": pages}, headers={"Cache-Control": "no-store"})


async def stage_board(request: Request) -> Response:
    pool = deps_of(request).pool
    pipelines = await queries.pipelines(pool)
    wanted = request.query_params.get("pipeline", "")
    selected = next((p for p in pipelines if str(p["id"]) == wanted), None)
    if selected is None and pipelines:
        selected = max(pipelines, key=lambda p: p["contacts"])
    board = await queries.stage_board(pool, str(selected["id"]), per_stage=PER_STAGE) if selected else []
    bands = await calibration(pool, str(selected["id"])) if selected else []
    return _html(
        screens.stage_board(
            pipelines, selected, board, per_stage=PER_STAGE, csrf=_csrf(request), calibration=bands
        )
    )


async def contact(request: Request) -> Response:
    pool = deps_of(request).pool
    row = await queries.contact(pool, request.path_params["contact_id"])
    if row is None:
        return _html(layout("Not found", "<p>No such contact.</p>", csrf=_csrf(request)), 404)
    activities = await queries.activities(pool, str(row["id"]))
    messages = await queries.recent_messages(pool, row)
    history = await queries.score_history(pool, str(row["id"]))
    return _html(
        screens.contact(
            row, activities, messages, now=datetime.now(UTC), csrf=_csrf(request), history=history
        )
    )
