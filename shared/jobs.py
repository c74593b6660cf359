"""Job bookkeeping shared by every service that settles backfill items (DESIGN §6, §7.7).

Every conversation a job enumerates ends as exactly one `job_items` row; the job's counters
are bumped only when that row is new, so redelivery never counts twice.
"""

from __future__ import annotations

from typing import Literal

import asyncpg

Outcome = Literal["SYNCED", "FAILED"]
ACTIVE = ("PENDING", "IN_PROGRESS")
# `jobs.errors` keeps the first this many item errors (errors_count counts them all; every one
# stays in job_items): past that an append would rewrite an ever larger jsonb under the job's lock.
MAX_ERRORS = 100


async def is_cancelled(conn: asyncpg.Connection | asyncpg.Pool, job_id: str) -> bool:
    status = await conn.fetchval("SELECT status FROM jobs WHERE id = $1::uuid", job_id)
    return status == "CANCELLED"


async def settle_item(
    conn: asyncpg.Connection,
    job_id: str,
    platform: str,
    contact_id: str,
    outcome: Outcome,
    *,
    error: str | None = None,
    code: int | None = None,
) -> bool:
    """Record one item's outcome once; True when this call recorded it. Run inside a transaction."""
    inserted = await conn.fetchval(
        """
        INSERT INTO job_items (job_id, platform, contact_external_id, outcome, error)
        VALUES ($1::uuid, $2, $3, $4, $5)
        ON CONFLICT DO NOTHING
        RETURNING true
        """,
        job_id, platform, contact_id, outcome, error,
    )
    if not inserted:
        return False
    item_error = None
    if outcome == "FAILED":
        item_error = {"platform": platform, "id": contact_id, "error": error or "failed"}
        if code is not None:
            item_error["code"] = code
    await conn.execute(
        """
        UPDATE jobs SET
            synced_contacts = synced_contacts + ($2 = 'SYNCED')::int,
            failed_contacts = failed_contacts + ($2 = 'FAILED')::int,
            errors = CASE WHEN $3::jsonb IS NULL OR errors_count >= $4 THEN errors
                          ELSE errors || jsonb_build_array($3::jsonb) END,
            errors_count = errors_count + ($3::jsonb IS NOT NULL)::int,
            updated_at = now()
        WHERE id = $1::uuid
        """,
        job_id, outcome, item_error, MAX_ERRORS,
    )
    await complete_if_done(conn, job_id)
    return True


async def complete_if_done(conn: asyncpg.Connection, job_id: str) -> bool:
    """Mark an IN_PROGRESS job COMPLETED once enumeration is done and every item is settled.

    The page's last_synced_at moves to the job's start, so the next incremental sync
    takes everything updated since this one began.
    """
    row = await conn.fetchrow(
        """
        UPDATE jobs SET status = 'COMPLETED', completed_at = now(), updated_at = now()
        WHERE id = $1::uuid AND status = 'IN_PROGRESS' AND enumeration_done
          AND synced_contacts + failed_contacts >= coalesce(total_contacts, 0)
        RETURNING page_id, started_at
        """,
        job_id,
    )
    if row is None:
        return False
    await conn.execute(
        """
        UPDATE pages SET last_synced_at = greatest(coalesce(last_synced_at, $2), $2),
                         updated_at = now()
        WHERE id = $1
        """,
        row["page_id"], row["started_at"],
    )
    return True
