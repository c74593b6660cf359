"""Starting, cancelling and reading jobs with their progress: what the admin API, CLI, console and
scheduler do with jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from shared.vocabulary import ACTIVE_JOB_STATUSES, JobKind, JobStatus

# The statuses of a job still to finish, as a `$n::text[]` parameter.
ACTIVE = list(ACTIVE_JOB_STATUSES)

# Columns of `jobs` joined with the `job_progress` view: what the API and `leadsync jobs` show.
_SELECT = """
SELECT j.id, j.page_id, j.kind, j.status, j.total_contacts, j.synced_contacts,
       j.failed_contacts, j.token_expired, j.errors, j.errors_count, j.error, j.enumeration_done,
       j.retry_of, j.heartbeat_at, j.started_at, j.completed_at, j.created_at, j.updated_at,
       j.params, j.result,
       p.percent, p.items_per_s, p.eta_s, p.age_s
FROM jobs j JOIN job_progress p ON p.id = j.id
"""


async def create(
    conn: asyncpg.Connection,
    page_id: str,
    kind: JobKind,
    *,
    retry_of: str | None = None,
    params: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], bool]:
    """A new PENDING job, or the page's active one (False) — the partial unique index decides.

    `params`: how a RESCORE job replays ({dry_run, prompt_version}).
    """
    for _ in range(5):
        job_id = await conn.fetchval(
            """
            INSERT INTO jobs (page_id, kind, retry_of, params) VALUES ($1, $2, $3::uuid, $4)
            -- The partial unique index's own predicate, as text: Postgres infers the index from it.
            ON CONFLICT (page_id) WHERE status IN ('PENDING', 'IN_PROGRESS') DO NOTHING
            RETURNING id
            """,
            page_id,
            kind,
            retry_of,
            params,
        )
        if job_id is not None:
            job = await get(conn, str(job_id))
            assert job is not None
            return job, True
        active = await conn.fetchval(
            "SELECT id FROM jobs WHERE page_id = $1 AND status = ANY($2::text[])", page_id, ACTIVE
        )
        if active is not None:
            job = await get(conn, str(active))
            if job is not None:
                return job, False
        # The active job ended between the two statements: try again.
    raise RuntimeError(f"could not create a job for page {page_id!r}: too much contention")


async def cancel(conn: asyncpg.Connection | asyncpg.Pool, job_id: str) -> bool:
    """CANCELLED at once (workers notice at their next heartbeat); False once it has ended."""
    try:
        cancelled = await conn.fetchval(
            """
            UPDATE jobs SET status = $2, completed_at = now(), updated_at = now()
            WHERE id = $1::uuid AND status = ANY($3::text[]) RETURNING true
            """,
            job_id,
            JobStatus.CANCELLED,
            ACTIVE,
        )
    except asyncpg.DataError:
        return False  # not a UUID: no such job
    return bool(cancelled)


async def fail(conn: asyncpg.Connection | asyncpg.Pool, job_id: str, error: str) -> bool:
    """FAILED with `error`, unless it has ended already; False then."""
    return bool(
        await conn.fetchval(
            """
        UPDATE jobs SET status = $3, error = $2, completed_at = now(), updated_at = now()
        WHERE id = $1::uuid AND status = ANY($4::text[]) RETURNING true
        """,
            job_id,
            error[:1000],
            JobStatus.FAILED,
            ACTIVE,
        )
    )


async def get(conn: asyncpg.Connection | asyncpg.Pool, job_id: str) -> dict[str, Any] | None:
    """One job with its progress, or None (also for ids that are not UUIDs)."""
    try:
        row = await conn.fetchrow(_SELECT + "WHERE j.id = $1::uuid", job_id)
    except asyncpg.DataError:
        return None
    return as_dict(row) if row else None


async def of_page(
    conn: asyncpg.Connection | asyncpg.Pool, page_id: str, *, limit: int = 50
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        _SELECT + "WHERE j.page_id = $1 ORDER BY j.created_at DESC, j.id LIMIT $2", page_id, limit
    )
    return [as_dict(r) for r in rows]


async def recent(conn: asyncpg.Connection | asyncpg.Pool, *, limit: int = 20) -> list[dict[str, Any]]:
    """Active jobs first, then the latest others."""
    rows = await conn.fetch(
        _SELECT
        + """ORDER BY (j.status = ANY($2::text[])) DESC, j.created_at DESC
        LIMIT $1""",
        limit,
        ACTIVE,
    )
    return [as_dict(r) for r in rows]


ItemKey = tuple[str, str]  # (platform, contact_external_id): the order of a job's items


async def items(
    conn: asyncpg.Connection | asyncpg.Pool,
    job_id: str,
    *,
    outcome: str | None,
    after: ItemKey | None,
    limit: int,
) -> tuple[list[dict[str, Any]], ItemKey | None]:
    """One page of a job's items in key order, and the key to continue after (None at the end)."""
    rows = await conn.fetch(
        """
        SELECT platform, contact_external_id, outcome, error FROM job_items
        WHERE job_id = $1::uuid AND ($2::text IS NULL OR outcome = $2)
          AND ($3::text IS NULL OR (platform, contact_external_id) > ($3, $4))
        ORDER BY platform, contact_external_id
        LIMIT $5
        """,
        job_id,
        outcome,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    page = [dict(r) for r in rows[:limit]]
    more = len(rows) > limit
    return page, (page[-1]["platform"], page[-1]["contact_external_id"]) if more else None


def encode_item_cursor(key: ItemKey) -> str:
    return f"{key[0]}:{key[1]}"


def decode_item_cursor(cursor: str) -> ItemKey:
    platform, _, contact = cursor.partition(":")
    return platform, contact


def as_dict(row: asyncpg.Record) -> dict[str, Any]:
    """JSON-ready: ids as text, times as ISO 8601, numerics as floats."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("id", "retry_of") and value is not None:
            value = str(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif key in ("percent", "items_per_s", "eta_s", "age_s") and value is not None:
            value = float(value)
        out[key] = value
    return out
