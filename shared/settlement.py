"""Settling job items exactly once and completing jobs: every service that settles items uses it (§6, §7.7).

Every conversation a job enumerates ends as exactly one `job_items` row; the job's counters
are bumped only when that row is new, so redelivery never counts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.vocabulary import ItemOutcome, JobStatus

# `jobs.errors` keeps the first this many item errors (errors_count counts them all; every one
# stays in job_items): past that an append would rewrite an ever larger jsonb under the job's lock.
MAX_ERRORS = 100
# The stage moves a RESCORE job reports (DESIGN §6 jobs.result), in the order they are shown.
MOVES = ("into_won", "into_lost", "up", "down", "blocked", "unchanged")
MOVE_LABELS = {"into_won": "into Won", "into_lost": "into Lost", "up": "up", "down": "down",
               "blocked": "blocked", "unchanged": "unchanged"}
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
        return self.kind == "RESCORE"


async def is_cancelled(conn: asyncpg.Connection | asyncpg.Pool, job_id: str) -> bool:
    status = await conn.fetchval("SELECT status FROM jobs WHERE id = $1::uuid", job_id)
    return bool(status == JobStatus.CANCELLED)


async def info(conn: asyncpg.Connection | asyncpg.Pool, job_id: str) -> JobInfo | None:
    """The job's status, kind and RESCORE parameters; None when there is no such job."""
    row = await conn.fetchrow("SELECT status, kind, params FROM jobs WHERE id = $1::uuid", job_id)
    if row is None:
        return None
    params: dict[str, Any] = row["params"] or {}
    return JobInfo(row["status"], row["kind"], bool(params.get("dry_run", False)),
                   params.get("prompt_version") or None)


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
    inserted = await conn.fetchval(
        """
        INSERT INTO job_items (job_id, platform, contact_external_id, outcome, error, detail)
        VALUES ($1::uuid, $2, $3, $4, $5, $6)
        ON CONFLICT DO NOTHING
        RETURNING true
        """,
        job_id, platform, contact_id, outcome, error, detail,
    )
    if not inserted:
        return False
    item_error: dict[str, str | int] | None = None
    if outcome == ItemOutcome.FAILED:
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
    takes everything updated since this one began. A RESCORE job synced nothing from Meta:
    it records its moves in `result` instead.
    """
    row = await conn.fetchrow(
        """
        UPDATE jobs SET status = 'COMPLETED', completed_at = now(), updated_at = now()
        WHERE id = $1::uuid AND status = 'IN_PROGRESS' AND enumeration_done
          AND synced_contacts + failed_contacts >= coalesce(total_contacts, 0)
        RETURNING page_id, started_at, kind
        """,
        job_id,
    )
    if row is None:
        return False
    if row["kind"] == "RESCORE":
        await conn.execute("UPDATE jobs SET result = $2 WHERE id = $1::uuid", job_id,
                           await rescore_result(conn, job_id))
        return True
    await conn.execute(
        """
        UPDATE pages SET last_synced_at = greatest(coalesce(last_synced_at, $2), $2),
                         updated_at = now()
        WHERE id = $1
        """,
        row["page_id"], row["started_at"],
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
    settled = 0
    for row in rows:
        settled += await settle_item(conn, job_id, row["platform"], row["contact_external_id"],
                                     ItemOutcome.FAILED, error=reason)
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
        WHERE job_id = $1::uuid AND outcome = 'SYNCED' GROUP BY 1
        """,
        job_id,
    )
    moves = dict.fromkeys(MOVES, 0)
    for row in counts:
        moves[row["move"]] = moves.get(row["move"], 0) + row["n"]
    examples = await conn.fetch(
        """
        SELECT detail FROM job_items
        WHERE job_id = $1::uuid AND outcome = 'SYNCED' AND detail IS NOT NULL
          AND detail ->> 'move' <> 'unchanged'
        ORDER BY array_position($2::text[], detail ->> 'move'), detail ->> 'name',
                 platform, contact_external_id
        LIMIT $3
        """,
        job_id, list(MOVES), EXAMPLES,
    )
    return {"moves": moves, "examples": [r["detail"] for r in examples]}
