"""What the console's buttons do: start a sync job for a page, cancel a job.

They behave like POST /api/backfill and POST /api/jobs/{id}/cancel: one active job per page,
the new job announced on the broker as backfill.requested.
"""

from __future__ import annotations

from typing import Literal

import asyncpg

from shared.broker import Publisher
from shared.messages import BackfillRequested

Kind = Literal["FULL", "INCREMENTAL"]


async def start_sync(pool: asyncpg.Pool, publisher: Publisher, page_id: str, kind: Kind
                     ) -> tuple[str, bool]:
    """(job id, True when new); a page that already has an active job keeps it."""
    async with pool.acquire() as conn:
        job_id = await conn.fetchval(
            """
            INSERT INTO jobs (page_id, kind) VALUES ($1, $2)
            ON CONFLICT (page_id) WHERE status IN ('PENDING', 'IN_PROGRESS') DO NOTHING
            RETURNING id
            """,
            page_id, kind,
        )
        if job_id is None:
            active = await conn.fetchval(
                "SELECT id FROM jobs WHERE page_id = $1 AND status IN ('PENDING', 'IN_PROGRESS')",
                page_id,
            )
            return str(active), False
    await publisher.publish(BackfillRequested(job_id=str(job_id)))
    return str(job_id), True


async def cancel(pool: asyncpg.Pool, job_id: str) -> bool:
    """CANCELLED at once; False when the job had already ended (or does not exist)."""
    try:
        row = await pool.fetchval(
            """
            UPDATE jobs SET status = 'CANCELLED', completed_at = now(), updated_at = now()
            WHERE id = $1::uuid AND status IN ('PENDING', 'IN_PROGRESS') RETURNING id
            """,
            job_id,
        )
    except asyncpg.DataError:
        return False
    return row is not None
