"""What the ops console reads: pages with their latest job, job progress, the stage board, a contact."""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.vocabulary import JobKind

# The latest job of each page with its progress numbers (job_progress is the dashboard view).
_LATEST_JOB = """
LEFT JOIN LATERAL (
    SELECT id FROM jobs WHERE page_id = p.id ORDER BY created_at DESC, id LIMIT 1
) latest ON true
LEFT JOIN jobs j ON j.id = latest.id
LEFT JOIN job_progress jp ON jp.id = j.id
"""
_JOB_COLUMNS = """
j.id AS job_id, j.kind AS job_kind, j.status AS job_status, j.total_contacts,
j.synced_contacts, j.failed_contacts, j.error AS job_error, j.token_expired,
jp.percent, jp.items_per_s, jp.eta_s
"""


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with its own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def pages(
    pool: asyncpg.Pool, *, search: str, offset: int, limit: int
) -> tuple[list[asyncpg.Record], int]:
    """One page of the page list (by name) and how many pages match the search in all."""
    where = "WHERE $1 = '' OR p.name ILIKE $2 OR p.id = $1"
    total = await pool.fetchval(f"SELECT count(*) FROM pages p {where}", search, _like(search))  # noqa: S608 - constant fragments
    rows = await pool.fetch(
        f"""
        SELECT p.id, p.name, p.instagram_account_id, p.token_status, p.last_synced_at,
               p.auto_sync, p.auto_pipeline_mode, pl.name AS pipeline_name,
               p.health_status, p.health_detail ->> 'reason' AS health_reason,
               (SELECT count(*) FROM contacts c WHERE c.page_id = p.id) AS contacts,
               {_JOB_COLUMNS}
        FROM pages p
        LEFT JOIN pipelines pl ON pl.id = p.auto_pipeline_id
        {_LATEST_JOB}
        {where}
        ORDER BY lower(p.name), p.id
        LIMIT $3 OFFSET $4
        """,  # noqa: S608 - constant fragments
        search,
        _like(search),
        limit,
        offset,
    )
    return rows, int(total)


async def page(pool: asyncpg.Pool, page_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow(
        f"""
        SELECT p.id, p.name, p.instagram_account_id, p.token_status, p.last_synced_at,
               p.health_status, p.health_detail ->> 'reason' AS health_reason,
               p.auto_sync, p.sync_interval_s, p.auto_pipeline_mode, p.created_at,
               pl.name AS pipeline_name, p.auto_pipeline_id,
               (SELECT count(*) FROM contacts c WHERE c.page_id = p.id) AS contacts,
               {_JOB_COLUMNS}
        FROM pages p
        LEFT JOIN pipelines pl ON pl.id = p.auto_pipeline_id
        {_LATEST_JOB}
        WHERE p.id = $1
        """,  # noqa: S608 - constant fragments
        page_id,
    )


async def progress(pool: asyncpg.Pool, *, page_ids: list[str], job_ids: list[str]) -> list[dict[str, Any]]:
    """The latest job of each page asked for, and each job asked for: what the bars show."""
    rows = await pool.fetch(
        """
        SELECT j.id, j.page_id, j.kind, j.status, j.total_contacts, j.synced_contacts,
               j.failed_contacts, j.error, j.token_expired, jp.percent, jp.items_per_s, jp.eta_s
        FROM jobs j JOIN job_progress jp ON jp.id = j.id
        WHERE j.id = ANY($2::uuid[])
           OR j.id IN (SELECT DISTINCT ON (page_id) id FROM jobs WHERE page_id = ANY($1::text[])
                       ORDER BY page_id, created_at DESC, id)
        """,
        page_ids,
        job_ids,
    )
    return [
        {
            "id": str(r["id"]),
            "page_id": r["page_id"],
            "kind": r["kind"],
            "status": r["status"],
            "done": r["synced_contacts"] + r["failed_contacts"],
            "failed": r["failed_contacts"],
            "total": r["total_contacts"],
            "percent": _float(r["percent"]),
            "items_per_s": _float(r["items_per_s"]),
            "eta_s": _float(r["eta_s"]),
            "error": r["error"],
        }
        for r in rows
    ]


async def page_counters(pool: asyncpg.Pool, page_ids: list[str]) -> list[dict[str, Any]]:
    """What a sync changes on a page row: its last sync and its number of contacts."""
    rows = await pool.fetch(
        """
        SELECT p.id, p.last_synced_at, p.token_status,
               (SELECT count(*) FROM contacts c WHERE c.page_id = p.id) AS contacts
        FROM pages p WHERE p.id = ANY($1::text[])
        """,
        page_ids,
    )
    return [
        {
            "id": r["id"],
            "contacts": r["contacts"],
            "token_status": r["token_status"],
            "last_synced_at": r["last_synced_at"].isoformat() if r["last_synced_at"] else None,
        }
        for r in rows
    ]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


async def pipelines(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    result: list[asyncpg.Record] = await pool.fetch(
        """
        SELECT pl.id, pl.name, (SELECT count(*) FROM contacts c WHERE c.pipeline_id = pl.id)
               AS contacts
        FROM pipelines pl ORDER BY lower(pl.name), pl.created_at
        """
    )
    return result


async def stage_board(
    pool: asyncpg.Pool, pipeline_id: str, *, per_stage: int
) -> list[tuple[asyncpg.Record, list[asyncpg.Record]]]:
    """Each stage in order with its contact count and its highest-scored contacts."""
    stages = await pool.fetch(
        """
        SELECT s.id, s.name, s.type, s.lead_score_min, s.lead_score_max, count(c.id) AS contacts
        FROM stages s LEFT JOIN contacts c ON c.stage_id = s.id
        WHERE s.pipeline_id = $1::uuid
        GROUP BY s.id ORDER BY s.position
        """,
        pipeline_id,
    )
    cards = await pool.fetch(
        """
        SELECT * FROM (
            SELECT c.id, c.name, c.external_id, c.platform, c.lead_score, c.lead_status,
                   c.ai_summary, c.used_fallback, c.stage_id, c.stage_entered_at,
                   row_number() OVER (PARTITION BY c.stage_id
                                      ORDER BY c.lead_score DESC NULLS LAST, c.updated_at DESC)
                   AS rank
            FROM contacts c WHERE c.pipeline_id = $1::uuid AND c.stage_id IS NOT NULL
        ) ranked WHERE rank <= $2 ORDER BY rank
        """,
        pipeline_id,
        per_stage,
    )
    by_stage: dict[Any, list[asyncpg.Record]] = {}
    for card in cards:
        by_stage.setdefault(card["stage_id"], []).append(card)
    return [(stage, by_stage.get(stage["id"], [])) for stage in stages]


async def contact(pool: asyncpg.Pool, contact_id: str) -> asyncpg.Record | None:
    try:
        return await pool.fetchrow(
            """
            SELECT c.*, s.name AS stage_name, pl.name AS pipeline_name, p.name AS page_name
            FROM contacts c
            LEFT JOIN stages s ON s.id = c.stage_id
            LEFT JOIN pipelines pl ON pl.id = c.pipeline_id
            LEFT JOIN pages p ON p.id = c.page_id
            WHERE c.id = $1::uuid
            """,
            contact_id,
        )
    except asyncpg.DataError:
        return None  # not a UUID: same as not found


async def activities(pool: asyncpg.Pool, contact_id: str, *, limit: int = 200) -> list[asyncpg.Record]:
    result: list[asyncpg.Record] = await pool.fetch(
        """
        SELECT a.type, a.lead_score, a.details, a.created_at,
               fs.name AS from_stage, ts.name AS to_stage
        FROM activities a
        LEFT JOIN stages fs ON fs.id = a.from_stage_id
        LEFT JOIN stages ts ON ts.id = a.to_stage_id
        WHERE a.contact_id = $1::uuid
        ORDER BY a.id DESC LIMIT $2
        """,
        contact_id,
        limit,
    )
    return result


async def score_history(pool: asyncpg.Pool, contact_id: str, *, limit: int = 100) -> list[asyncpg.Record]:
    """The contact's live analyses (the ledger without shadow rows), oldest first."""
    rows = await pool.fetch(
        """
        SELECT analyzed_through, lead_score, lead_status, confidence, signals, evidence, model,
               prompt_version, used_fallback, job_id, created_at
        FROM scores WHERE contact_id = $1::uuid AND NOT shadow
        ORDER BY analyzed_through DESC NULLS LAST, id DESC LIMIT $2
        """,
        contact_id,
        limit,
    )
    return list(reversed(rows))


async def latest_rescore(pool: asyncpg.Pool, page_id: str) -> asyncpg.Record | None:
    """The page's newest RESCORE job, with its parameters and result."""
    return await pool.fetchrow(
        """
        SELECT id, status, params, result, synced_contacts, failed_contacts, error, created_at
        FROM jobs WHERE page_id = $1 AND kind = $2 ORDER BY created_at DESC, id LIMIT 1
        """,
        page_id,
        JobKind.RESCORE,
    )


async def recent_messages(
    pool: asyncpg.Pool, row: asyncpg.Record, *, limit: int = 60
) -> list[asyncpg.Record]:
    """The conversation's latest messages, oldest first."""
    rows = await pool.fetch(
        """
        SELECT mid, from_page, text, attachments, sent_at, deleted FROM messages
        WHERE page_id = $1 AND platform = $2 AND contact_external_id = $3
        ORDER BY sent_at DESC LIMIT $4
        """,
        row["page_id"],
        row["platform"],
        row["external_id"],
        limit,
    )
    return list(reversed(rows))


async def page_jobs(pool: asyncpg.Pool, page_id: str, *, limit: int = 50) -> list[asyncpg.Record]:
    """A page's job history, newest first, with progress numbers."""
    result: list[asyncpg.Record] = await pool.fetch(
        """
        SELECT j.id, j.kind, j.status, j.total_contacts, j.synced_contacts, j.failed_contacts,
               j.token_expired, j.error, j.errors, j.errors_count, j.started_at, j.completed_at,
               j.created_at, j.params, jp.percent, jp.items_per_s, jp.eta_s
        FROM jobs j JOIN job_progress jp ON jp.id = j.id
        WHERE j.page_id = $1 ORDER BY j.created_at DESC, j.id LIMIT $2
        """,
        page_id,
        limit,
    )
    return result
