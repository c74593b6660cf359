"""Settling job items exactly once and completing jobs: every service that settles items uses it (§6, §7.7).

Every conversation a job enumerates ends as exactly one `job_items` row; the job's counters
are bumped only when that row is new, so redelivery never counts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.vocabulary import ItemOutcome, JobKind, JobStatus

# `jobs.errors` keeps the first this many item errors (errors_count counts them all; every one
# stays in job_items): past that an append would rewrite an ever larger jsonb under the job's lock.
MAX_ERRORS = 100
# The stage moves a RESCORE job reports (DESIGN §6 jobs.result), in the order they are shown.
MOVES = ("into_won", "into_lost", "up", "down", "blocked", "unchanged")
MOVE_LABELS = {
    "into_won": "into Won",
    "into_lost": "into Lost",
    "up": "up",
    "down": "down",
    "blocked": "blocked",
    "unchanged": "unchanged",
}
EXAMPLES = 20


@dataclass(frozen=True)
class JobInfo:
    """What a consumer needs to know of a job an event belongs to."""

    status: str
    kind: str
    dry_run: bool = False
    prompt_version: str | None = None

    @property
    def rescore(self) -> bool:
        return self.kind == JobKind.RESCORE


async def is_cancelled(conn: asyncpg.Connection | asyncpg.Pool, job_id: str) -> bool:
    status = await conn.fetchval("SELECT status FROM jobs WHERE id = $1::uuid", job_id)
    return bool(status == JobStatus.CANCELLED)


async def info(conn: asyncpg.Connection | asyncpg.Pool, job_id: str) -> JobInfo | None:
    """The job's status, kind and RESCORE parameters; None when there is no such job."""
    row = await conn.fetchrow("SELECT status, kind, params FROM jobs WHERE id = $1::uuid", job_id)
    if row is None:
        return None
    params: dict[str, Any] = row["params"] or {}
    return JobInfo(
        row["status"], row["kind"], bool(params.get("dry_run", False)), params.get("prompt_version") or None
    )


@dataclass(frozen=True)
class Settlement:
    """One item's outcome, for settle_items."""

    platform: str
    contact_id: str
    outcome: ItemOutcome
    error: str | None = None
    code: int | None = None
    detail: dict[str, Any] | None = None


# One statement per batch of a job's items (issue 15): the items are recorded once (a redelivered
# one inserts nothing), the job's counters and its first MAX_ERRORS errors move by what was new,
# and the job row is locked once per batch instead of once per item. It answers how many items
# were new and whether the job may now be complete.
_SETTLE = """
WITH given AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::jsonb[])
        WITH ORDINALITY AS g(platform, contact, outcome, error, code, detail, n)
), new AS (
    INSERT INTO job_items (job_id, platform, contact_external_id, outcome, error, detail)
    SELECT $1::uuid, platform, contact, outcome, error, detail FROM given ORDER BY n
    ON CONFLICT DO NOTHING
    RETURNING platform, contact_external_id
), counted AS (
    SELECT count(*) FILTER (WHERE g.outcome = $9) AS synced,
           count(*) FILTER (WHERE g.outcome = $10) AS failed,
           coalesce(jsonb_agg(jsonb_build_object('platform', g.platform, 'id', g.contact,
                                                 'error', coalesce(g.error, 'failed'))
                              || CASE WHEN g.code IS NULL THEN '{}'::jsonb
                                      ELSE jsonb_build_object('code', g.code) END
                              ORDER BY g.n) FILTER (WHERE g.outcome = $10),
                    '[]'::jsonb) AS errors
    FROM new JOIN given g ON g.platform = new.platform AND g.contact = new.contact_external_id
), bumped AS (
    UPDATE jobs j SET
        synced_contacts = j.synced_contacts + c.synced,
        failed_contacts = j.failed_contacts + c.failed,
        errors = j.errors || coalesce((
            SELECT jsonb_agg(e ORDER BY i) FROM jsonb_array_elements(c.errors) WITH ORDINALITY AS x(e, i)
            WHERE i <= greatest(0, $8 - j.errors_count)), '[]'::jsonb),
        errors_count = j.errors_count + c.failed,
        updated_at = now()
    FROM counted c
    WHERE j.id = $1::uuid AND c.synced + c.failed > 0
    RETURNING j.status = $11 AND j.enumeration_done
              AND j.synced_contacts + j.failed_contacts >= coalesce(j.total_contacts, 0) AS done
)
SELECT (SELECT count(*) FROM new) AS new, coalesce((SELECT done FROM bumped), false) AS done
"""


async def settle_items(conn: asyncpg.Connection, job_id: str, items: list[Settlement]) -> int:
    """Record each item's outcome once, in one statement; returns how many were new.

    Run inside a transaction. An item given twice counts once (its first outcome).
    """
    items = list({(i.platform, i.contact_id): i for i in reversed(items)}.values())[::-1]
    if not items:
        return 0
    row = await conn.fetchrow(
        _SETTLE,
        job_id,
        [i.platform for i in items],
        [i.contact_id for i in items],
        [i.outcome for i in items],
        [i.error for i in items],
        [i.code for i in items],
        [i.detail for i in items],
        MAX_ERRORS,
        ItemOutcome.SYNCED,
        ItemOutcome.FAILED,
        JobStatus.IN_PROGRESS,
    )
    if row["done"]:
        await complete_if_done(conn, job_id)
    return int(row["new"])


async def settle_item(
    conn: asyncpg.Connection,
    job_id: str,
    platform: str,
    contact_id: str,
    outcome: ItemOutcome,
    *,
    error: str | None = None,
    code: int | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Record one item's outcome once; True when this call recorded it. Run inside a transaction.

    `detail` is what a RESCORE item did to its contact's stage (or would do, in a dry run).
    """
    return bool(
        await settle_items(conn, job_id, [Settlement(platform, contact_id, outcome, error, code, detail)])
    )


def by_job(items: list[tuple[str, Settlement]]) -> list[tuple[str, list[Settlement]]]:
    """(job_id, settlement) pairs grouped per job, jobs and items in key order: every
    transaction locks job rows in the same order, so two of them never deadlock."""
    grouped: dict[str, list[Settlement]] = {}
    for job_id, item in sorted(items, key=lambda p: (p[0], p[1].platform, p[1].contact_id)):
        grouped.setdefault(job_id, []).append(item)
    return list(grouped.items())


async def complete_if_done(conn: asyncpg.Connection, job_id: str) -> bool:
    """Mark an IN_PROGRESS job COMPLETED once enumeration is done and every item is settled.

    The page's last_synced_at moves to the job's start, so the next incremental sync
    takes everything updated since this one began. A RESCORE job synced nothing from Meta:
    it records its moves in `result` instead.
    """
    row = await conn.fetchrow(
        """
        UPDATE jobs SET status = $2, completed_at = now(), updated_at = now()
        WHERE id = $1::uuid AND status = $3 AND enumeration_done
          AND synced_contacts + failed_contacts >= coalesce(total_contacts, 0)
        RETURNING page_id, started_at, kind
        """,
        job_id,
        JobStatus.COMPLETED,
        JobStatus.IN_PROGRESS,
    )
    if row is None:
        return False
    if row["kind"] == JobKind.RESCORE:
        await conn.execute(
            "UPDATE jobs SET result = $2 WHERE id = $1::uuid", job_id, await rescore_result(conn, job_id)
        )
        return True
    await conn.execute(
        """
        UPDATE pages SET last_synced_at = greatest(coalesce(last_synced_at, $2), $2),
                         updated_at = now()
        WHERE id = $1
        """,
        row["page_id"],
        row["started_at"],
    )
    return True


async def settle_missing(conn: asyncpg.Connection, job_id: str, reason: str) -> int:
    """Record FAILED, with `reason`, every enumerated item of the job that never settled; then
    complete the job. Returns how many items it settled. Run inside a transaction."""
    rows = await conn.fetch(
        """
        SELECT e.platform, e.contact_external_id FROM job_enumerated e
        WHERE e.job_id = $1::uuid AND NOT EXISTS (
            SELECT 1 FROM job_items i WHERE i.job_id = e.job_id AND i.platform = e.platform
              AND i.contact_external_id = e.contact_external_id)
        ORDER BY e.platform, e.contact_external_id
        """,
        job_id,
    )
    settled = await settle_items(
        conn,
        job_id,
        [Settlement(r["platform"], r["contact_external_id"], ItemOutcome.FAILED, reason) for r in rows],
    )
    await complete_if_done(conn, job_id)
    return settled


async def rescore_result(conn: asyncpg.Connection, job_id: str) -> dict[str, Any]:
    """A RESCORE job's outcome from its items: moves counted by kind, and the first examples.

    An item settled without a placement (a conversation with nothing left to score) counts as
    unchanged; failed items are the job's failed_contacts, not moves.
    """
    counts = await conn.fetch(
        """
        SELECT coalesce(detail ->> 'move', 'unchanged') AS move, count(*) AS n FROM job_items
        WHERE job_id = $1::uuid AND outcome = $2 GROUP BY 1
        """,
        job_id,
        ItemOutcome.SYNCED,
    )
    moves = dict.fromkeys(MOVES, 0)
    for row in counts:
        moves[row["move"]] = moves.get(row["move"], 0) + row["n"]
    examples = await conn.fetch(
        """
        SELECT detail FROM job_items
        WHERE job_id = $1::uuid AND outcome = $4 AND detail IS NOT NULL
          AND detail ->> 'move' <> 'unchanged'
        ORDER BY array_position($2::text[], detail ->> 'move'), detail ->> 'name',
                 platform, contact_external_id
        LIMIT $3
        """,
        job_id,
        list(MOVES),
        EXAMPLES,
        ItemOutcome.SYNCED,
    )
    return {"moves": moves, "examples": [r["detail"] for r in examples]}
