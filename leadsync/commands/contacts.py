"""`leadsync contacts --page P`: a page's contacts with their score, status and stage."""

from __future__ import annotations

import argparse

import asyncpg

from leadsync.commands import admin_db
from services.webhook.api import contacts
from shared.errors import CommandError
from shared.settings import BaseServiceSettings, load


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("contacts", help="show a page's contacts and their stages")
    p.add_argument("--page", required=True, help="page id")
    p.add_argument("--stage", help="only contacts in this stage (its name or id)")
    p.add_argument("--limit", type=int, default=500, help="at most this many (default 500)")
    p.set_defaults(func=run)


async def _stage_id(conn: asyncpg.Connection, page_id: str, stage: str) -> str | None:
    """A stage of the page's auto pipeline (or of any pipeline its contacts are in) by name or id."""
    result: str | None = await conn.fetchval(
        """
        SELECT s.id::text FROM stages s
        WHERE (s.id::text = $2 OR lower(s.name) = lower($2))
          AND s.pipeline_id IN (SELECT auto_pipeline_id FROM pages WHERE id = $1
                                UNION SELECT pipeline_id FROM contacts WHERE page_id = $1)
        ORDER BY s.position LIMIT 1
        """,
        page_id,
        stage.strip(),
    )
    return result


def run(args: argparse.Namespace) -> int:
    async def fetch(conn: asyncpg.Connection) -> list[dict[str, object]]:
        stage_id = None
        if args.stage:
            stage_id = await _stage_id(conn, args.page, args.stage)
            if stage_id is None:
                raise CommandError(f"page {args.page!r} has no stage named {args.stage!r}")
        found: list[dict[str, object]] = []
        cursor = None
        while len(found) < args.limit:
            query = admin_db.validate(
                contacts.ContactQuery,
                {
                    "page_id": args.page,
                    "stage_id": stage_id,
                    "cursor": cursor,
                    "limit": min(contacts.MAX_LIMIT, args.limit - len(found)),
                },
            )
            page = await contacts.list_contacts(conn, query)
            found += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        return found

    # Hottest first: the contacts a salesperson should look at.
    rows = sorted(admin_db.run(load(BaseServiceSettings), fetch), key=lambda c: -int(c["lead_score"] or 0))  # type: ignore[call-overload]
    admin_db.print_table(
        f"contacts of page {args.page} ({len(rows)})",
        ["name", "platform", "score", "status", "stage", "since"],
        [
            (
                c["name"] or c["external_id"],
                c["platform"],
                c["lead_score"],
                c["lead_status"],
                c["stage_name"],
                c["stage_entered_at"],
            )
            for c in rows
        ],
    )
    return 0
