"""`leadsync rescore PAGE_ID [--dry-run] [--prompt-version V]`: replay a page's stored transcripts.

A RESCORE job (DESIGN §7.7) with a progress bar, then the table of stage moves it made — or, with
--dry-run, would make: nothing changes until the same command runs without --dry-run.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from leadsync.commands import admin_db
from leadsync.commands import jobs as jobs_command
from leadsync.commands.backfill import announce
from services.webhook.api.jobs import RescoreBody
from shared import job_admin
from shared.errors import CommandError
from shared.settings import BaseServiceSettings, load
from shared.settlement import MOVE_LABELS as LABELS
from shared.settlement import MOVES
from shared.vocabulary import JobKind, JobStatus


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("rescore", help="score a page's stored conversations again (see what moves)")
    p.add_argument("page_id", metavar="PAGE_ID")
    p.add_argument("--dry-run", action="store_true", help="only report the stage moves; change no contact")
    p.add_argument("--prompt-version", metavar="V", help="score with this prompt version")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load(BaseServiceSettings)
    body = admin_db.validate(RescoreBody, {"dry_run": args.dry_run, "prompt_version": args.prompt_version})
    job, created = asyncio.run(start(settings, args.page_id, body))
    what = "dry run" if body.dry_run else "rescore"
    if created:
        print(f"started {what} {job['id']} of page {args.page_id}")
    else:
        print(f"the same {what} of page {args.page_id} is already running: {job['id']}")
    code = asyncio.run(
        jobs_command.show(settings.database_url, watch=True, job_ids=[job["id"]], until_done=True)
    )
    final = asyncio.run(_read(settings, job["id"]))
    if final["status"] != JobStatus.COMPLETED:
        raise CommandError(f"the {what} ended {final['status']}: {final['error'] or 'no reason given'}")
    Console().print(moves_table(final, dry_run=body.dry_run))
    return code


async def start(
    settings: BaseServiceSettings, page_id: str, body: RescoreBody
) -> tuple[dict[str, Any], bool]:
    """Create the page's RESCORE job (or find the same one running) and announce it."""
    async with admin_db.connection(settings) as conn:
        if await conn.fetchval("SELECT 1 FROM pages WHERE id = $1", page_id) is None:
            raise CommandError(f"page {page_id!r} not found; add it first (POST /api/pages)")
        job, created = await job_admin.create(conn, page_id, JobKind.RESCORE, params=body.params())
    if not created and (job["kind"], job["params"]) != (JobKind.RESCORE, body.params()):
        raise CommandError(
            f"page {page_id!r} already has an active {job['kind']} job {job['id']}; rescore when it has ended"
        )
    if created:
        await announce(settings, job["id"])
    return job, created


async def _read(settings: BaseServiceSettings, job_id: str) -> dict[str, Any]:
    async with admin_db.connection(settings) as conn:
        job = await job_admin.get(conn, job_id)
    assert job is not None
    return job


def moves_table(job: dict[str, Any], *, dry_run: bool) -> Group:
    """The moves by kind in one line, then the examples (contact, move, from → to, score)."""
    result = job["result"] or {"moves": {}, "examples": []}
    verb = "would move" if dry_run else "moved"
    counts = ", ".join(f"{result['moves'].get(m, 0)} {LABELS[m]}" for m in MOVES)
    summary = Text(f"{job['synced_contacts']} conversations rescored: {counts}")
    if not result["examples"]:
        return Group(Text(""), summary, Text(f"no contact {verb}"))
    table = Table(title=f"contacts that {verb}", title_justify="left")
    for column in ("CONTACT", "MOVE", "FROM", "TO", "SCORE", "STATUS"):
        table.add_column(column, overflow="fold")
    for ex in result["examples"]:
        move = LABELS.get(ex["move"], ex["move"])
        table.add_row(
            ex["name"] or ex["external_id"],
            f"{move} ({ex['reason']})" if ex["move"] == "blocked" else move,
            ex["from"] or "-",
            ex["to"] or "-",
            f"{admin_db.cell(ex['score_before'])} → {ex['score_after']}",
            ex["status_after"],
        )
    return Group(Text(""), summary, table)
