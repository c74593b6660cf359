"""`leadsync pages add|list`: register Facebook pages (token encrypted) and show them."""

from __future__ import annotations

import argparse
import getpass
import sys

import asyncpg

from leadsync.commands import action, admin_db, command_group, connected
from services.webhook.api import pages
from shared.crypto import TokenCipher
from shared.errors import CommandError
from shared.settings import GraphSettings, load
from shared.vocabulary import PipelineMode, values


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = command_group(sub, "pages", "add and list Facebook pages")
    add = action(
        actions, "add", run_add, help="add a page; its access token is read from stdin (or prompted for)"
    )
    add.add_argument("id", help="the Facebook Page id")
    add.add_argument("--name", required=True)
    add.add_argument("--instagram-account-id")
    add.add_argument("--pipeline", dest="auto_pipeline_id", help="auto pipeline id")
    add.add_argument(
        "--mode",
        dest="auto_pipeline_mode",
        default="SKIP_EXISTING",
        type=str.upper,
        choices=values(PipelineMode),
    )
    add.add_argument("--no-auto-sync", dest="auto_sync", action="store_false")
    add.add_argument("--sync-interval", dest="sync_interval_s", type=int, default=3600, metavar="SECONDS")
    action(actions, "list", run_list, help="list pages (never their tokens)")
    connected.register_pages(actions)


def read_token() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("page access token: ")
    return sys.stdin.readline().strip()


def run_add(args: argparse.Namespace) -> int:
    """Add a page. The access token is read from stdin when piped, else prompted for without echo;
    it never goes on the command line. Needs TOKEN_ENCRYPTION_KEY.
    """
    settings = load(GraphSettings)
    if settings.token_encryption_key is None:
        raise CommandError("TOKEN_ENCRYPTION_KEY is not set: set it to a Fernet key to store page tokens")
    cipher = TokenCipher(settings.token_encryption_key.get_secret_value())
    fields = (
        "id",
        "name",
        "instagram_account_id",
        "auto_pipeline_id",
        "auto_pipeline_mode",
        "auto_sync",
        "sync_interval_s",
    )
    data = {f: getattr(args, f) for f in fields if getattr(args, f) is not None}
    body = admin_db.validate(pages.PageCreate, {**data, "access_token": read_token()})
    token_enc = cipher.encrypt(body.access_token.get_secret_value())

    async def add(conn: asyncpg.Connection) -> dict[str, object]:
        return await pages.insert_page(conn, body, token_enc)

    page = admin_db.run(settings, add)
    print(f"added page {page['id']} ({page['name']}); token stored encrypted")
    return 0


def run_list(_: argparse.Namespace) -> int:
    pages_found = admin_db.run(load(GraphSettings), pages.list_pages)
    admin_db.print_table(
        "pages",
        [
            "id",
            "name",
            "instagram",
            "auto pipeline",
            "mode",
            "auto sync",
            "every (s)",
            "token",
            "health",
            "last synced",
        ],
        [
            (
                p["id"],
                p["name"],
                p["instagram_account_id"],
                p["auto_pipeline_id"],
                p["auto_pipeline_mode"],
                p["auto_sync"],
                p["sync_interval_s"],
                p["token_status"] if p["has_token"] else "none",
                p["health_status"],
                p["last_synced_at"],
            )
            for p in pages_found
        ],
    )
    return 0
