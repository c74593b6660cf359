"""Connecting, disconnecting and forgetting pages (DESIGN §3), shared by the admin API, the console
and Meta's platform callbacks.

Connecting a page stores its page token encrypted, fills in its name and Instagram account,
subscribes our app to its messaging fields, makes sure the app-level subscription is in place,
checks its health and (unless told not to) starts its first FULL backfill. The person's user token
is a parameter of these functions only: it is never stored or logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog

from shared import job_admin, page_health
from shared.crypto import TokenCipher
from shared.errors import BrokerUnavailable, ConnectError, GraphError, TemporaryError
from shared.logging import add_secrets
from shared.messages import BackfillRequested
from shared.meta_app import APP_FIELDS, AccountPage, MetaApp, app_subscription_gaps
from shared.vocabulary import ACTIVE_JOB_STATUSES, HealthStatus, JobKind, JobStatus

if TYPE_CHECKING:
    from services.webhook.deps import Deps

log = structlog.get_logger("leadsync.webhook.connect")

# A page's data that "forget" deletes; the page row and its jobs stay (history, counts).
FORGET = (
    "DELETE FROM scores WHERE contact_id IN (SELECT id FROM contacts WHERE page_id = $1)",
    "DELETE FROM activities WHERE contact_id IN (SELECT id FROM contacts WHERE page_id = $1)",
    "DELETE FROM contacts WHERE page_id = $1",
    "DELETE FROM messages WHERE page_id = $1",
    "DELETE FROM analyzer_conversations WHERE page_id = $1",
    "DELETE FROM job_items WHERE job_id IN (SELECT id FROM jobs WHERE page_id = $1)",
)


@dataclass(frozen=True)
class Discovered:
    user: dict[str, str]
    pages: list[AccountPage]


def meta_of(deps: Deps) -> MetaApp:
    if deps.meta is None:
        raise ConnectError(
            "META_APP_ID is not set: set META_APP_ID (and META_APP_SECRET) on the "
            "webhook service to connect pages",
            503,
        )
    if deps.cipher is None:
        raise ConnectError(
            "TOKEN_ENCRYPTION_KEY is not set: set it to a Fernet key on the "
            "webhook service to store page tokens",
            503,
        )
    return deps.meta


def meta_error(err: GraphError, doing: str) -> ConnectError:
    """Meta's refusal as one line a person can act on (never a token: GraphError masks them)."""
    if err.code == 100 and err.subcode in {36007, 36008, 36009}:
        return ConnectError(
            "Meta refused the login code (it was already used, expired or made for "
            "another address): click Connect pages again"
        )
    if err.code == 190:
        return ConnectError(
            f"Meta refused the access token while {doing}: sign in again (the token expired or was revoked)"
        )
    if err.code == 10 or (err.code is not None and 200 <= err.code <= 299):
        return ConnectError(
            f"Meta refused a permission while {doing}: allow every permission "
            "leadsync asks for and connect again"
        )
    if isinstance(err, TemporaryError):
        return ConnectError(f"Meta did not answer while {doing}; try again in a moment", 502)
    return ConnectError(f"Meta refused while {doing}: {err.message}", 502)


async def discover(deps: Deps, user_token: str) -> Discovered:
    meta = meta_of(deps)
    add_secrets([user_token])
    try:
        user = await meta.me(user_token)
        pages = await meta.accounts(user_token)
    except GraphError as err:
        raise meta_error(err, "listing your pages") from None
    add_secrets([p.access_token for p in pages])
    return Discovered(user, pages)


async def listing(pool: asyncpg.Pool, found: Discovered) -> list[dict[str, Any]]:
    """The discovered pages with `connected` (a token stored) and their health."""
    rows = {
        r["id"]: r
        for r in await pool.fetch(
            "SELECT id, health_status, access_token_enc IS NOT NULL AS has_token FROM pages "
            "WHERE id = ANY($1::text[])",
            [p.id for p in found.pages],
        )
    }
    out = []
    for p in found.pages:
        row = rows.get(p.id)
        out.append(
            {
                "id": p.id,
                "name": p.name,
                "instagram_account_id": p.instagram_account_id,
                "instagram_username": p.instagram_username,
                "connected": bool(row and row["has_token"]),
                "health_status": row["health_status"] if row else None,
            }
        )
    return out


def callback_of(deps: Deps) -> str:
    return deps.settings.public_base + "/webhooks/meta"


async def ensure_app_subscription(meta: MetaApp, callback: str, verify_token: str) -> dict[str, Any]:
    """Set the app-level subscription for every object whose fields or callback are missing."""
    changed = []
    try:
        gaps = app_subscription_gaps(await meta.app_subscriptions(), callback)
        for obj in APP_FIELDS:
            if gaps[obj]["missing_fields"] or not gaps[obj]["callback_ok"]:
                await meta.subscribe_app(obj, callback, verify_token)
                changed.append(obj)
        if changed:
            gaps = app_subscription_gaps(await meta.app_subscriptions(), callback)
            log.info("meta.app_subscribed", objects=changed)
    except GraphError as err:
        raise meta_error(err, "setting the app's webhook subscription") from None
    return _subscription_report(callback, gaps, changed)


async def app_subscription_status(meta: MetaApp, callback: str) -> dict[str, Any]:
    try:
        gaps = app_subscription_gaps(await meta.app_subscriptions(), callback)
    except GraphError as err:
        raise meta_error(err, "reading the app's webhook subscription") from None
    return _subscription_report(callback, gaps, [])


def _subscription_report(callback: str, gaps: dict[str, Any], changed: list[str]) -> dict[str, Any]:
    return {
        "callback_url": callback,
        "objects": gaps,
        "changed": changed,
        "complete": not any(g["missing_fields"] or not g["callback_ok"] for g in gaps.values()),
    }


async def connect(
    deps: Deps, found: Discovered, page_ids: list[str], *, backfill: bool = True
) -> dict[str, Any]:
    """Connect the chosen pages of a discovery; each page succeeds or fails on its own."""
    meta = meta_of(deps)
    by_id = {p.id: p for p in found.pages}
    connected: list[str] = []
    failed: list[dict[str, str]] = []
    jobs: dict[str, str] = {}
    app_level: dict[str, Any] | None = None
    for page_id in page_ids:
        page = by_id.get(page_id)
        if page is None:
            failed.append({"id": page_id, "error": "not among the pages this Facebook user manages"})
            continue
        try:
            await _store(deps, page, found.user)
            await meta.subscribe_page(page.id, page.access_token)
            if app_level is None:
                app_level = await ensure_app_subscription(
                    meta, callback_of(deps), deps.settings.meta_verify_token.get_secret_value()
                )
        except GraphError as err:
            failed.append({"id": page_id, "error": meta_error(err, "subscribing the page").message})
            continue
        except ConnectError as err:
            failed.append({"id": page_id, "error": err.message})
            continue
        except asyncpg.UniqueViolationError:
            failed.append(
                {"id": page_id, "error": "its Instagram account is linked to another page in leadsync"}
            )
            continue
        await _check_quietly(deps, page.id)
        connected.append(page.id)
        if backfill:
            job = await start_job(deps, page.id)
            if job:
                jobs[page.id] = job
        log.info("page.connected", page_id=page.id, backfill=backfill)
    return {"connected": connected, "failed": failed, "jobs": jobs, "app_subscription": app_level}


async def _store(deps: Deps, page: AccountPage, user: dict[str, str]) -> None:
    assert deps.cipher is not None
    token_enc = deps.cipher.encrypt(page.access_token)
    await deps.pool.execute(
        """
        INSERT INTO pages (id, name, access_token_enc, instagram_account_id, connected_by)
        VALUES ($1, $2, $3, $4, $5::jsonb)
        ON CONFLICT (id) DO UPDATE SET
            name = EXCLUDED.name, access_token_enc = EXCLUDED.access_token_enc,
            instagram_account_id = EXCLUDED.instagram_account_id,
            connected_by = EXCLUDED.connected_by, token_status = 'ok', health_status = $6,
            auto_sync = CASE WHEN pages.health_status = $7 THEN true ELSE pages.auto_sync END,
            updated_at = now()
        """,
        page.id,
        page.name,
        token_enc,
        page.instagram_account_id,
        user,
        HealthStatus.OK,
        HealthStatus.DISCONNECTED,
    )


async def _check_quietly(deps: Deps, page_id: str) -> None:
    assert deps.meta is not None and deps.cipher is not None
    try:
        await page_health.check(deps.pool, deps.meta, deps.cipher, page_id)
    except GraphError as err:
        log.warning("page.health_check_failed", page_id=page_id, code=err.code)


async def start_job(deps: Deps, page_id: str) -> str | None:
    """A FULL backfill for the page (or its active job), announced to the workers."""
    async with deps.pool.acquire() as conn:
        job, created = await job_admin.create(conn, page_id, JobKind.FULL)
    if created:
        try:
            await deps.publisher.publish(BackfillRequested(job_id=job["id"]))
        except BrokerUnavailable as err:
            # PENDING: the backfill scheduler hands it out when the broker is back.
            log.warning("job.announce_failed", job_id=job["id"], error=str(err))
    return str(job["id"])


async def disconnect(
    pool: asyncpg.Pool,
    cipher: TokenCipher | None,
    meta: MetaApp | None,
    page_id: str,
    *,
    forget: bool = False,
) -> dict[str, Any] | None:
    """Unsubscribe (best effort), drop the token, auto sync off; `forget` deletes its data."""
    row = await pool.fetchrow("SELECT access_token_enc FROM pages WHERE id = $1", page_id)
    if row is None:
        return None
    unsubscribed = False
    token = None
    if row["access_token_enc"] is not None and cipher is not None:
        try:
            token = cipher.decrypt(row["access_token_enc"])
        except ValueError:
            token = None
    if token is not None and meta is not None:
        try:
            await meta.unsubscribe_page(page_id, token)
            unsubscribed = True
        except GraphError as err:
            log.warning("page.unsubscribe_failed", page_id=page_id, code=err.code)
    forgotten = 0
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """UPDATE pages SET access_token_enc = NULL, auto_sync = false,
                   health_status = $3, health_checked_at = now(),
                   health_detail = $2::jsonb, updated_at = now() WHERE id = $1""",
            page_id,
            {"reason": page_health.REASON_TEXT[HealthStatus.DISCONNECTED]},
            HealthStatus.DISCONNECTED,
        )
        await conn.execute(
            "UPDATE jobs SET status = $2, completed_at = now(), updated_at = now() "
            "WHERE page_id = $1 AND status = ANY($3::text[])",
            page_id,
            JobStatus.CANCELLED,
            list(ACTIVE_JOB_STATUSES),
        )
        if forget:
            forgotten = await conn.fetchval("SELECT count(*) FROM contacts WHERE page_id = $1", page_id)
            for statement in FORGET:
                await conn.execute(statement, page_id)
    log.info("page.disconnected", page_id=page_id, unsubscribed=unsubscribed, forget=forget)
    return {
        "id": page_id,
        "unsubscribed": unsubscribed,
        "forgotten": forget,
        "contacts_deleted": int(forgotten),
    }


async def contacts_of(pool: asyncpg.Pool, page_ids: list[str]) -> int:
    """How many contacts "forget" would delete (the console's confirmation names it)."""
    return int(await pool.fetchval("SELECT count(*) FROM contacts WHERE page_id = ANY($1::text[])", page_ids))


async def pages_of_user(pool: asyncpg.Pool, user_id: str) -> list[str]:
    return [
        r["id"]
        for r in await pool.fetch(
            "SELECT id FROM pages WHERE connected_by ->> 'id' = $1 ORDER BY id", user_id
        )
    ]
