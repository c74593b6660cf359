"""What the console's Sync and Re-score buttons do: start backfill and RESCORE jobs for pages.

They behave like POST /api/backfill (through shared.job_admin): one active job per page, a
page needs a usable token, and a new job is announced on the broker as backfill.requested (when
RabbitMQ is down the job stays PENDING and the scheduler hands it out later).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
import structlog

from shared import job_admin
from shared.broker import Publisher
from shared.errors import BrokerUnavailable
from shared.messages import BackfillRequested
from shared.vocabulary import JobKind

log = structlog.get_logger("leadsync.webhook.ops")


@dataclass
class SyncOutcome:
    started: list[str] = field(default_factory=list)
    already_running: list[str] = field(default_factory=list)
    need_token: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    not_announced: int = 0


async def sync_pages(
    pool: asyncpg.Pool, publisher: Publisher, page_ids: list[str], kind: JobKind
) -> SyncOutcome:
    """Start one job per page that has a usable token and no active job."""
    outcome = SyncOutcome()
    rows = {
        r["id"]: r["usable"]
        for r in await pool.fetch(
            """SELECT id, access_token_enc IS NOT NULL AND token_status = 'ok' AS usable
           FROM pages WHERE id = ANY($1::text[])""",
            page_ids,
        )
    }
    for page_id in dict.fromkeys(page_ids):
        if page_id not in rows:
            outcome.unknown.append(page_id)
        elif not rows[page_id]:
            outcome.need_token.append(page_id)
        else:
            async with pool.acquire() as conn:
                job, created = await job_admin.create(conn, page_id, kind)
            if not created:
                outcome.already_running.append(page_id)
                continue
            outcome.started.append(page_id)
            if not await _announce(publisher, job["id"]):
                outcome.not_announced += 1
    return outcome


async def rescore(
    pool: asyncpg.Pool, publisher: Publisher, page_id: str, *, dry_run: bool, prompt_version: str | None
) -> str:
    """Start a RESCORE job of the page (like POST /api/pages/{id}/rescore); the notice to show."""
    params = {"dry_run": dry_run, "prompt_version": prompt_version}
    async with pool.acquire() as conn:
        job, created = await job_admin.create(conn, page_id, JobKind.RESCORE, params=params)
    what = "Dry run" if dry_run else "Re-score"
    if not created:
        if (job["kind"], job["params"]) == (JobKind.RESCORE, params):
            return f"{what} already running."
        return f"The page already has a {job['kind'].lower()} job running; try when it has ended."
    if not await _announce(publisher, job["id"]):
        return f"{what} saved; RabbitMQ is unreachable, the scheduler starts it once it is back."
    return f"{what} started." + (" Nothing changes until you apply it." if dry_run else "")


async def _announce(publisher: Publisher, job_id: str) -> bool:
    try:
        await publisher.publish(BackfillRequested(job_id=job_id))
    except BrokerUnavailable as err:
        log.warning("job.announce_failed", job_id=job_id, error=str(err))
        return False
    return True
