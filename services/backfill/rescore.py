"""A RESCORE job's walk (DESIGN §7.7): every stored conversation of the page, replayed for scoring.

No Graph call and no token: the conversations come from `messages`, in key order, a page of them
at a time. Each is counted into the job's total, then published as a conversation.updated with no
messages (the analyzer scores what it has stored), then the cursor is saved — the same order and
the same exact counting as a backfill walk, so progress, cancel and resume work alike.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog

from services.backfill import repository
from services.backfill.repository import Item
from shared.broker import Publisher
from shared.messages import ConversationUpdated, content_id

log = structlog.get_logger("leadsync.backfill")

PAGE_SIZE = 200


async def conversations(
    pool: asyncpg.Pool, page_id: str, after: tuple[str, str] | None, limit: int
) -> list[tuple[str, str]]:
    """The page's stored conversations (platform, customer) after `after`, in key order."""
    rows = await pool.fetch(
        """
        SELECT DISTINCT platform, contact_external_id FROM messages
        WHERE page_id = $1 AND ($2::text IS NULL OR (platform, contact_external_id) > ($2, $3))
        ORDER BY platform, contact_external_id
        LIMIT $4
        """,
        page_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [(r["platform"], r["contact_external_id"]) for r in rows]


class RescoreWalk:
    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: Publisher,
        worker: str,
        job: asyncpg.Record,
        *,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.pool = pool
        self.publisher = publisher
        self.worker = worker
        self.job = job
        self.job_id = str(job["id"])
        self.page_size = page_size

    async def run(self) -> None:
        cursor: dict[str, Any] = (self.job["cursor"] or {}).get("rescore") or {}
        after = tuple(cursor["after"]) if cursor.get("after") else None
        while True:
            batch = await conversations(self.pool, self.job["page_id"], after, self.page_size)
            if not batch:
                break
            await repository.record(
                self.pool,
                self.job_id,
                self.worker,
                {},
                [Item(platform, contact) for platform, contact in batch],
            )
            await self.publisher.publish_many(
                [
                    (
                        ConversationUpdated(
                            page_id=self.job["page_id"],
                            platform=platform,
                            contact_id=contact,
                            origin="backfill",
                            job_id=self.job_id,
                        ),
                        content_id("rescore", self.job_id, platform, contact),
                    )
                    for platform, contact in batch
                ]
            )
            after = batch[-1]
            await repository.record(
                self.pool, self.job_id, self.worker, {"rescore": {"after": list(after)}}, []
            )
            log.info("job.page", conversations=len(batch), kind="RESCORE")
        completed = await repository.finish_enumeration(self.pool, self.job_id, self.worker)
        log.info("job.enumerated", completed=completed)
