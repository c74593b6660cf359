"""A connected page's health: its token (`debug_token`) and our webhook subscription on it.

`assess` is pure: what Meta said → a status and the detail shown to people. `check` asks Meta,
restores a subscription Meta dropped, and writes `pages.health_*` (and `token_status` in step).
The webhook service checks when a page is connected or asked to; the backfill service every
BACKFILL_HEALTH_INTERVAL_S, after a token or permission error, and before each job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from prometheus_client import Gauge

from shared.crypto import TokenCipher
from shared.errors import GraphError, TemporaryError, TokenInvalid
from shared.meta_app import INSTAGRAM_SCOPES, PAGE_FIELDS, PAGE_SCOPES, MetaApp
from shared.vocabulary import HealthStatus

log = structlog.get_logger("leadsync.page_health")

UNHEALTHY = Gauge(
    "leadsync_pages_unhealthy",
    "Connected pages whose last health check was not ok, by reason (token_expired, token_invalid, "
    "missing_permissions, unsubscribed).",
    ["reason"],
)
REASONS = (
    HealthStatus.TOKEN_EXPIRED,
    HealthStatus.TOKEN_INVALID,
    HealthStatus.MISSING_PERMISSIONS,
    HealthStatus.UNSUBSCRIBED,
)
BAD_TOKEN = frozenset({HealthStatus.TOKEN_EXPIRED, HealthStatus.TOKEN_INVALID})
EXPIRED_SUBCODES = frozenset({463})


@dataclass(frozen=True)
class Health:
    status: HealthStatus
    token: dict[str, Any]
    subscription: dict[str, Any]


def assess(debug: dict[str, Any], fields: list[str] | None, *, instagram: bool, now: datetime) -> Health:
    """debug_token's data and our subscribed fields (None: not subscribed) → the page's health."""
    scopes = [str(s) for s in debug.get("scopes") or []]
    needed = (*PAGE_SCOPES, *(INSTAGRAM_SCOPES if instagram else ()))
    missing_scopes = [s for s in needed if s not in scopes]
    expires = _ts(debug.get("expires_at"))
    valid = bool(debug.get("is_valid"))
    token: dict[str, Any] = {
        "valid": valid,
        "expires_at": expires,
        "data_access_expires_at": _ts(debug.get("data_access_expires_at")),
        "scopes": scopes,
        "missing_scopes": missing_scopes,
    }
    error = debug.get("error") if isinstance(debug.get("error"), dict) else None
    if error:
        token["error"] = {
            "code": error.get("code"),
            "subcode": error.get("subcode"),
            "message": str(error.get("message", ""))[:300],
        }
    missing_fields = [f for f in PAGE_FIELDS if fields is None or f not in fields]
    subscription = {
        "subscribed": fields is not None,
        "fields": fields or [],
        "missing_fields": missing_fields,
    }
    if not valid:
        expired = (error is not None and error.get("subcode") in EXPIRED_SUBCODES) or (
            expires is not None and expires <= now
        )
        status = HealthStatus.TOKEN_EXPIRED if expired else HealthStatus.TOKEN_INVALID
    elif missing_scopes:
        status = HealthStatus.MISSING_PERMISSIONS
    elif missing_fields:
        status = HealthStatus.UNSUBSCRIBED
    else:
        status = HealthStatus.OK
    return Health(status, token, subscription)


def _ts(value: Any) -> datetime | None:
    """Meta's epoch seconds; 0 means never."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def report(status: str, checked_at: datetime | None, detail: dict[str, Any]) -> dict[str, Any]:
    """The API's health shape from the stored columns."""
    return {
        "status": status,
        "checked_at": checked_at,
        "token": detail.get("token") or {},
        "subscription": detail.get("subscription") or {},
        "resubscribed": bool(detail.get("resubscribed")),
        "reason": detail.get("reason"),
    }


REASON_TEXT = {
    HealthStatus.TOKEN_EXPIRED: "the page's access token expired: reconnect the page",
    HealthStatus.TOKEN_INVALID: "Meta no longer accepts the page's access token (a password change, a lost "
    "page role or the app removed): reconnect the page",
    HealthStatus.MISSING_PERMISSIONS: "the page was connected without permissions leadsync needs ({}): "
    "reconnect it and allow them",
    HealthStatus.UNSUBSCRIBED: "Meta no longer sends this page's messages to leadsync and restoring the "
    "subscription failed: reconnect the page",
    HealthStatus.DISCONNECTED: "the page is disconnected: connect it again to sync it",
}


async def check(
    pool: asyncpg.Pool | asyncpg.Connection,
    meta: MetaApp,
    cipher: TokenCipher,
    page_id: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Ask Meta about the page now, restore a dropped subscription, store and return the report.

    None when the page does not exist. A page without a token is `disconnected` (no Graph call).
    Meta being unreachable raises TemporaryError and changes nothing.
    """
    row = await pool.fetchrow(
        "SELECT id, access_token_enc, instagram_account_id, health_status FROM pages WHERE id = $1", page_id
    )
    if row is None:
        return None
    now = now or datetime.now(UTC)
    token = _decrypt(cipher, row["access_token_enc"])
    if token is None:
        detail: dict[str, Any] = {"reason": REASON_TEXT[HealthStatus.DISCONNECTED]}
        return await _store(pool, page_id, HealthStatus.DISCONNECTED, now, detail)
    debug = await meta.debug_token(token)
    fields: list[str] | None = None
    resubscribed = False
    if debug.get("is_valid"):
        try:
            fields = await meta.page_fields(page_id, token)
            if fields is None or any(f not in fields for f in PAGE_FIELDS):
                await meta.subscribe_page(page_id, token)
                fields = await meta.page_fields(page_id, token)
                resubscribed = fields is not None
                log.warning("page.resubscribed", page_id=page_id, restored=resubscribed)
        except TemporaryError:
            raise
        except TokenInvalid as err:
            debug = {
                **debug,
                "is_valid": False,
                "error": {"code": err.code, "subcode": err.subcode, "message": err.message},
            }
        except GraphError as err:
            log.warning("page.subscription_check_failed", page_id=page_id, code=err.code)
    health = assess(debug, fields, instagram=bool(row["instagram_account_id"]), now=now)
    detail = {"token": health.token, "subscription": health.subscription, "resubscribed": resubscribed}
    if health.status != HealthStatus.OK:
        detail["reason"] = REASON_TEXT[health.status].format(", ".join(health.token["missing_scopes"]))
    return await _store(pool, page_id, health.status, now, detail)


async def _store(
    pool: asyncpg.Pool | asyncpg.Connection, page_id: str, status: str, now: datetime, detail: dict[str, Any]
) -> dict[str, Any]:
    token_status = "expired" if status in BAD_TOKEN else "ok"
    await pool.execute(
        """UPDATE pages SET health_status = $2, health_checked_at = $3, health_detail = $4::jsonb,
               token_status = CASE WHEN $2 = $6 THEN token_status ELSE $5 END,
               updated_at = now()
           WHERE id = $1""",
        page_id,
        status,
        now,
        detail,
        token_status,
        HealthStatus.DISCONNECTED,
    )
    return report(status, now, detail)


def _decrypt(cipher: TokenCipher, token_enc: bytes | None) -> str | None:
    if token_enc is None:
        return None
    try:
        return cipher.decrypt(token_enc)
    except ValueError:
        return None


async def refresh_gauge(pool: asyncpg.Pool) -> dict[str, int]:
    """Set leadsync_pages_unhealthy from the table (every reason, zeros included)."""
    rows = await pool.fetch(
        "SELECT health_status, count(*) AS n FROM pages WHERE health_status <> ALL($1::text[]) "
        "GROUP BY health_status",
        [HealthStatus.OK, HealthStatus.DISCONNECTED],
    )
    counts: dict[str, int] = {reason: 0 for reason in REASONS}
    counts.update({r["health_status"]: int(r["n"]) for r in rows})
    for reason, n in counts.items():
        UNHEALTHY.labels(reason).set(n)
    return counts
