"""`leadsync pages health|disconnect` and `leadsync meta subscribe`: connected pages from the shell.

They use the same code as the admin API (services/webhook/connect.py, shared/page_health.py),
straight against Postgres and Meta, so they work with no service running.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import httpx
from pydantic import Field, SecretStr

from leadsync.commands import action, admin_db, command_group
from services.webhook import connect
from shared import db, page_health
from shared.crypto import TokenCipher
from shared.errors import DATABASE_ERRORS, CommandError, ConnectError, GraphError
from shared.graph import GraphClient
from shared.meta_app import MetaApp
from shared.settings import GraphSettings, load

T = TypeVar("T")


class ConnectedSettings(GraphSettings):
    """What these commands read: the Graph settings plus the webhook's public side."""

    public_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^?#\s]+$")
    meta_verify_token: SecretStr | None = None


@dataclass
class Tools:
    pool: asyncpg.Pool
    cipher: TokenCipher | None
    meta: MetaApp | None
    settings: ConnectedSettings


def register_pages(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    health = action(
        actions,
        "health",
        run_health,
        help="check connected pages' tokens and webhook "
        "subscriptions now (a dropped subscription is restored)",
    )
    health.add_argument("page_id", nargs="?", help="one page (default: every connected page)")
    gone = action(
        actions,
        "disconnect",
        run_disconnect,
        help="disconnect a page: unsubscribe, drop its token, auto sync off (its history stays)",
    )
    gone.add_argument("page_id")
    gone.add_argument(
        "--forget",
        action="store_true",
        help="also delete its contacts, messages, activities, scores and job items",
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = command_group(sub, "meta", "the Meta app's webhook subscription")
    action(
        actions,
        "subscribe",
        run_subscribe,
        help="set the app-level webhook subscription (object page and instagram, "
        "callback PUBLIC_URL/webhooks/meta); the webhook must be up for Meta's handshake",
    )


@asynccontextmanager
async def _tools() -> AsyncIterator[Tools]:
    settings = load(ConnectedSettings)
    pool = await db.create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        async with httpx.AsyncClient(timeout=20) as http:
            key = settings.token_encryption_key
            yield Tools(
                pool,
                TokenCipher(key.get_secret_value()) if key else None,
                MetaApp.from_settings(settings, GraphClient.from_settings(settings, http)),
                settings,
            )
    finally:
        await pool.close()


def _run(work: Callable[[Tools], Awaitable[T]]) -> T:
    async def main() -> T:
        async with _tools() as tools:
            return await work(tools)

    try:
        return asyncio.run(main())
    except ConnectError as err:
        raise CommandError(err.message) from None
    except GraphError as err:
        raise CommandError(connect.meta_error(err, "asking Meta").message) from None
    except DATABASE_ERRORS as err:
        raise CommandError(f"database error: {err}") from None


def _needs_meta(tools: Tools) -> tuple[MetaApp, TokenCipher]:
    if tools.meta is None:
        raise ConnectError("META_APP_ID and META_APP_SECRET must be set to ask Meta")
    if tools.cipher is None:
        raise ConnectError("TOKEN_ENCRYPTION_KEY is not set: it decrypts the page tokens")
    return tools.meta, tools.cipher


def run_health(args: argparse.Namespace) -> int:
    async def work(tools: Tools) -> list[dict[str, Any]]:
        meta, cipher = _needs_meta(tools)
        ids = (
            [args.page_id]
            if args.page_id
            else [
                r["id"]
                for r in await tools.pool.fetch(
                    "SELECT id FROM pages WHERE access_token_enc IS NOT NULL ORDER BY id"
                )
            ]
        )
        out = []
        for page_id in ids:
            result = await page_health.check(tools.pool, meta, cipher, page_id)
            if result is None:
                raise CommandError(f"no page {page_id!r}")
            out.append({"id": page_id, **result})
        await page_health.refresh_gauge(tools.pool)
        return out

    results = _run(work)
    admin_db.print_table(
        "page health",
        ["page", "status", "resubscribed", "missing scopes", "missing fields", "reason"],
        [
            (
                r["id"],
                r["status"],
                r["resubscribed"],
                ", ".join(r["token"].get("missing_scopes") or []),
                ", ".join(r["subscription"].get("missing_fields") or []),
                r.get("reason") or "",
            )
            for r in results
        ],
    )
    return 0 if all(r["status"] == "ok" for r in results) else 1


def run_disconnect(args: argparse.Namespace) -> int:
    async def work(tools: Tools) -> dict[str, Any] | None:
        return await connect.disconnect(
            tools.pool, tools.cipher, tools.meta, args.page_id, forget=args.forget
        )

    result = _run(work)
    if result is None:
        raise CommandError(f"no page {args.page_id!r}")
    how = "unsubscribed from Meta" if result["unsubscribed"] else "Meta not told (best effort)"
    forgot = f"; {result['contacts_deleted']} contacts and their data deleted" if args.forget else ""
    print(f"disconnected page {args.page_id} ({how}); token removed, auto sync off{forgot}")
    return 0


def run_subscribe(_: argparse.Namespace) -> int:
    async def work(tools: Tools) -> dict[str, Any]:
        meta, _ = _needs_meta(tools)
        verify = tools.settings.meta_verify_token
        if verify is None:
            raise ConnectError(
                "META_VERIFY_TOKEN is not set: Meta sends it to the webhook in the subscription handshake"
            )
        return await connect.ensure_app_subscription(
            meta, tools.settings.public_url.rstrip("/") + "/webhooks/meta", verify.get_secret_value()
        )

    result = _run(work)
    for obj, gap in result["objects"].items():
        state = (
            "ok"
            if not gap["missing_fields"] and gap["callback_ok"]
            else f"missing {', '.join(gap['missing_fields']) or 'callback'}"
        )
        print(f"{obj}: {state} ({', '.join(gap['fields'])})")
    print(f"callback {result['callback_url']}; changed: {', '.join(result['changed']) or 'nothing'}")
    return 0 if result["complete"] else 1
