"""`leadsync backfill PAGE_ID [--incremental] [--watch]`: start a page's backfill job."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from leadsync.commands import admin_db
from leadsync.commands import jobs as jobs_command
from shared import job_admin
from shared.broker import Publisher, Topology
from shared.errors import BrokerUnavailable, CommandError
from shared.messages import BackfillRequested
from shared.settings import BaseServiceSettings, load
from shared.vocabulary import JobKind


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("backfill", help="pull a page's existing conversations from the Graph API")
    p.add_argument("page_id", metavar="PAGE_ID")
    p.add_argument(
        "--incremental", action="store_true", help="only conversations updated since the page's last sync"
    )
    p.add_argument("--watch", action="store_true", help="show its progress until it ends")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load(BaseServiceSettings)
    kind = JobKind.INCREMENTAL if args.incremental else JobKind.FULL
    job, created = asyncio.run(start(settings, args.page_id, kind))
    if created:
        print(f"started {kind} job {job['id']} for page {args.page_id}")
    else:
        print(
            f"page {args.page_id} already has an active job {job['id']} ({job['status']}); "
            "not starting another"
        )
    if args.watch:
        return asyncio.run(
            jobs_command.show(settings.database_url, watch=True, job_ids=[job["id"]], until_done=True)
        )
    return 0


async def start(settings: BaseServiceSettings, page_id: str, kind: JobKind) -> tuple[dict[str, Any], bool]:
    """Create (or find) the page's job and tell the backfill workers about a new one."""
    async with admin_db.connection(settings) as conn:
        page = await conn.fetchrow(
            "SELECT access_token_enc IS NOT NULL AND token_status = 'ok' AS usable FROM pages WHERE id = $1",
            page_id,
        )
        if page is None:
            raise CommandError(f"page {page_id!r} not found; add it first (POST /api/pages)")
        if not page["usable"]:
            raise CommandError(
                f"page {page_id!r} needs a valid access token first "
                "(PATCH /api/pages/{id} with access_token)"
            )
        job, created = await job_admin.create(conn, page_id, kind)
    if created:
        await announce(settings, job["id"])
    return job, created


async def announce(settings: BaseServiceSettings, job_id: str) -> None:
    """Tell the backfill workers about a new job (they also find PENDING ones by themselves)."""
    publisher = Publisher(settings.amqp_url.get_secret_value(), Topology(settings.broker_namespace))
    try:
        await publisher.publish(BackfillRequested(job_id=job_id))
    except BrokerUnavailable:
        # The job is saved; the backfill service's scheduler hands PENDING jobs out later.
        print("note: RabbitMQ is unreachable; the job starts once the backfill service sees it")
    finally:
        await publisher.close()
