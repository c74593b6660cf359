"""SQL of the backfill worker and scheduler: claims, heartbeats, cursors and exact totals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from shared import settlement
from shared.errors import ClaimLost
from shared.messages import Platform
from shared.vocabulary import ACTIVE_JOB_STATUSES, HealthStatus, ItemOutcome, JobKind, JobStatus

# The statuses of a job still to finish, as a `$n::text[]` parameter.
ACTIVE = list(ACTIVE_JOB_STATUSES)


@dataclass(frozen=True, slots=True)
class Item:
    """One enumerated conversation; `outcome` is set when the worker settles it itself."""

    platform: str
    contact_id: str
    outcome: ItemOutcome | None = None
    error: str | None = None
    code: int | None = None


async def claim(pool: asyncpg.Pool, job_id: str, worker: str, stale_after_s: float) -> asyncpg.Record | None:
    """Take a PENDING job, or an IN_PROGRESS one whose worker stopped beating; None otherwise."""
    try:
        return await pool.fetchrow(
            """
            UPDATE jobs SET status = $4, started_at = coalesce(started_at, now()),
                            heartbeat_at = now(), claimed_by = $2, updated_at = now()
            WHERE id = $1::uuid AND (status = $5 OR (status = $4 AND
                  (heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => $3))))
            RETURNING *
            """,
            job_id,
            worker,
            stale_after_s,
            JobStatus.IN_PROGRESS,
            JobStatus.PENDING,
        )
    except asyncpg.DataError:
        return None  # not a UUID: nothing to run


async def job(pool: asyncpg.Pool, job_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id)


async def page(pool: asyncpg.Pool, page_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM pages WHERE id = $1", page_id)


async def beat(pool: asyncpg.Pool, job_id: str, worker: str) -> bool:
    """Refresh the heartbeat; False when the job is no longer this worker's to run."""
    return bool(
        await pool.fetchval(
            """
        UPDATE jobs SET heartbeat_at = now()
        WHERE id = $1::uuid AND status = $3 AND claimed_by = $2
        RETURNING true
        """,
            job_id,
            worker,
            JobStatus.IN_PROGRESS,
        )
    )


async def record(
    pool: asyncpg.Pool, job_id: str, worker: str, cursor: dict[str, Any], items: list[Item]
) -> None:
    """After one Graph page: count new items once, settle the worker's own, merge in the cursor.

    `cursor` holds the keys this page moved on (a platform's position, a retry's index); the
    platforms of one job are walked concurrently and each updates only its own key.
    """
    async with pool.acquire() as conn, conn.transaction():
        new = await conn.fetch(
            """
            INSERT INTO job_enumerated (job_id, platform, contact_external_id)
            SELECT $1::uuid, i.platform, i.contact FROM unnest($2::text[], $3::text[]) AS i(platform, contact)
            ON CONFLICT DO NOTHING
            RETURNING 1
            """,
            job_id,
            [i.platform for i in items],
            [i.contact_id for i in items],
        )
        await settlement.settle_items(
            conn,
            job_id,
            [
                settlement.Settlement(i.platform, i.contact_id, i.outcome, i.error, i.code)
                for i in items
                if i.outcome is not None
            ],
        )
        saved = await conn.fetchval(
            """
            UPDATE jobs SET total_contacts = coalesce(total_contacts, 0) + $3,
                            cursor = coalesce(cursor, '{}'::jsonb) || $4::jsonb,
                            heartbeat_at = now(), updated_at = now()
            WHERE id = $1::uuid AND status = $5 AND claimed_by = $2
            RETURNING true
            """,
            job_id,
            worker,
            len(new),
            cursor,
            JobStatus.IN_PROGRESS,
        )
        if not saved:
            raise ClaimLost(job_id)


async def finish_enumeration(pool: asyncpg.Pool, job_id: str, worker: str) -> bool:
    """Enumeration is over: the total is final; True when that also completed the job."""
    async with pool.acquire() as conn, conn.transaction():
        saved = await conn.fetchval(
            """
            UPDATE jobs SET enumeration_done = true, total_contacts = coalesce(total_contacts, 0),
                            cursor = coalesce(cursor, '{}'::jsonb) || '{"done": true}'::jsonb,
                            heartbeat_at = now(), updated_at = now()
            WHERE id = $1::uuid AND status = $3 AND claimed_by = $2
            RETURNING true
            """,
            job_id,
            worker,
            JobStatus.IN_PROGRESS,
        )
        if not saved:
            raise ClaimLost(job_id)
        return await settlement.complete_if_done(conn, job_id)


async def fail(pool: asyncpg.Pool, job_id: str, error: str, *, token_expired: bool = False) -> None:
    """FAILED with a clear error; an expired token also marks the page for reconnection."""
    async with pool.acquire() as conn, conn.transaction():
        page_id = await conn.fetchval(
            """
            UPDATE jobs SET status = $4, error = $2, token_expired = $3,
                            completed_at = now(), updated_at = now()
            WHERE id = $1::uuid AND status = ANY($5::text[])
            RETURNING page_id
            """,
            job_id,
            error,
            token_expired,
            JobStatus.FAILED,
            ACTIVE,
        )
        if page_id is not None and token_expired:
            await conn.execute(
                """UPDATE pages SET token_status = 'expired', updated_at = now(),
                       health_status = CASE WHEN health_status = ANY($2::text[]) THEN health_status
                                            ELSE $3 END
                   WHERE id = $1""",
                page_id,
                [HealthStatus.TOKEN_EXPIRED, HealthStatus.TOKEN_INVALID, HealthStatus.DISCONNECTED],
                HealthStatus.TOKEN_EXPIRED,
            )


async def release(pool: asyncpg.Pool, job_id: str, worker: str) -> bool:
    """Give a job back (shutdown, Graph or broker trouble) so the next worker resumes it at once."""
    return bool(
        await pool.fetchval(
            """
        UPDATE jobs SET heartbeat_at = now() - interval '1 day', claimed_by = NULL, updated_at = now()
        WHERE id = $1::uuid AND status = $3 AND claimed_by = $2
        RETURNING true
        """,
            job_id,
            worker,
            JobStatus.IN_PROGRESS,
        )
    )


async def failed_items(pool: asyncpg.Pool, job_id: str) -> list[tuple[Platform, str]]:
    rows = await pool.fetch(
        """
        SELECT platform, contact_external_id FROM job_items
        WHERE job_id = $1::uuid AND outcome = $2 ORDER BY platform, contact_external_id
        """,
        job_id,
        ItemOutcome.FAILED,
    )
    return [(r["platform"], r["contact_external_id"]) for r in rows]


async def start_due_syncs(pool: asyncpg.Pool) -> list[str]:
    """An INCREMENTAL job for each auto_sync page whose interval has passed (safe to race)."""
    rows = await pool.fetch(
        """
        INSERT INTO jobs (page_id, kind, scheduled)
        SELECT p.id, $1, true FROM pages p
        WHERE p.auto_sync AND p.token_status = 'ok' AND p.access_token_enc IS NOT NULL
          AND p.last_synced_at IS NOT NULL
          AND p.last_synced_at + make_interval(secs => p.sync_interval_s) <= now()
          AND NOT EXISTS (
              SELECT 1 FROM jobs j WHERE j.page_id = p.id
                AND (j.status = ANY($2::text[])
                     OR (j.kind <> $3
                         AND j.created_at > now() - make_interval(secs => p.sync_interval_s))))
        -- The partial unique index's own predicate, as text: Postgres infers the index from it.
        ON CONFLICT (page_id) WHERE status IN ('PENDING', 'IN_PROGRESS') DO NOTHING
        RETURNING id
        """,
        JobKind.INCREMENTAL,
        ACTIVE,
        JobKind.RESCORE,
    )
    return [str(r["id"]) for r in rows]


async def stale_jobs(pool: asyncpg.Pool, stale_after_s: float) -> list[str]:
    """Active jobs nobody is running (dead worker, lost message); each is handed out once per period.

    A job whose walk is over needs no worker: only its items are still settling downstream
    (and `abandoned_jobs` finds those that never will).
    """
    rows = await pool.fetch(
        """
        UPDATE jobs SET updated_at = now()
        WHERE status = ANY($2::text[]) AND NOT enumeration_done
          AND updated_at < now() - make_interval(secs => $1)
          AND (status = $3 OR heartbeat_at IS NULL
               OR heartbeat_at < now() - make_interval(secs => $1))
        RETURNING id
        """,
        stale_after_s,
        ACTIVE,
        JobStatus.PENDING,
    )
    return [str(r["id"]) for r in rows]


async def abandoned_jobs(pool: asyncpg.Pool, settle_timeout_s: float, grace_s: float) -> list[str]:
    """Jobs whose walk ended but whose items stopped settling: their messages were lost.

    A job is marked `stalled_at` when no item settled for `settle_timeout_s` after its walk; it
    is returned once it stayed so for `grace_s` more, seen by a sweep that reached the database
    (so a database outage alone, which stops every settlement, never abandons a job). A job
    moves when it starts, beats or settles an item.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """
            UPDATE jobs j SET stalled_at = now()
            WHERE j.status = $2 AND j.enumeration_done
              AND j.synced_contacts + j.failed_contacts < coalesce(j.total_contacts, 0)
              AND greatest(j.started_at, j.heartbeat_at,
                       (SELECT max(i.created_at) FROM job_items i WHERE i.job_id = j.id))
                  < now() - make_interval(secs => $1)
              AND (j.stalled_at IS NULL OR j.stalled_at < greatest(j.started_at, j.heartbeat_at,
                       (SELECT max(i.created_at) FROM job_items i WHERE i.job_id = j.id)))
            """,
            settle_timeout_s,
            JobStatus.IN_PROGRESS,
        )
        rows = await conn.fetch(
            """
            SELECT j.id FROM jobs j
            WHERE j.status = $2 AND j.enumeration_done AND j.stalled_at IS NOT NULL
              AND j.stalled_at < now() - make_interval(secs => $1)
              AND greatest(j.started_at, j.heartbeat_at,
                       (SELECT max(i.created_at) FROM job_items i WHERE i.job_id = j.id)) <= j.stalled_at
            """,
            grace_s,
            JobStatus.IN_PROGRESS,
        )
    return [str(r["id"]) for r in rows]


async def settle_abandoned(pool: asyncpg.Pool, job_id: str, reason: str) -> int:
    """Record the job's unsettled items FAILED with `reason` and complete it."""
    async with pool.acquire() as conn, conn.transaction():
        locked = await conn.fetchval(
            "SELECT true FROM jobs WHERE id = $1::uuid AND status = $2 FOR UPDATE",
            job_id,
            JobStatus.IN_PROGRESS,
        )
        if not locked:
            return 0
        return await settlement.settle_missing(conn, job_id, reason)


async def idle_jobs(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    """Active jobs with the seconds since they last moved (created, started, or an item settled)."""
    rows: list[asyncpg.Record] = await pool.fetch(
        """
        SELECT j.id::text AS id, j.page_id, extract(epoch FROM now() - greatest(j.created_at,
               j.started_at, (SELECT max(i.created_at) FROM job_items i WHERE i.job_id = j.id)))
               AS idle_s
        FROM jobs j WHERE j.status = ANY($1::text[])
        """,
        ACTIVE,
    )
    return rows
