"""SQL of the assigner: contacts, pages' auto pipelines, stages and activities; the caller owns the
transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.messages import ContactScored
from shared.vocabulary import PipelineMode, Stage, StageType


def contact_lock_key(msg: ContactScored) -> int:
    """A stable signed 64-bit key per contact for pg_advisory_xact_lock (works before the row exists)."""
    digest = hashlib.blake2b(
        f"{msg.page_id}\x1f{msg.platform}\x1f{msg.contact_id}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_contacts(conn: asyncpg.Connection, keys: Sequence[int]) -> None:
    """Take each contact's transaction lock in ascending key order, so batches never deadlock."""
    await conn.executemany("SELECT pg_advisory_xact_lock($1)", [(k,) for k in sorted(set(keys))])


async def contact(conn: asyncpg.Connection, msg: ContactScored) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT c.id::text, c.name, c.pipeline_id::text, c.stage_id::text, s.name AS stage_name,
               c.lead_score, c.lead_status, c.analyzed_through, c.ai_summary, c.ai_reasoning,
               c.ai_confidence, c.used_fallback
        FROM contacts c LEFT JOIN stages s ON s.id = c.stage_id
        WHERE c.page_id = $1 AND c.platform = $2 AND c.external_id = $3
        """,
        msg.page_id,
        msg.platform,
        msg.contact_id,
    )


def holds_analysis(row: asyncpg.Record, msg: ContactScored) -> bool:
    """True when the row already carries exactly this analysis (a redelivery or a repeat)."""
    a = msg.analysis
    return (
        row["analyzed_through"] == msg.analyzed_through
        and (
            row["lead_score"],
            row["lead_status"],
            row["ai_summary"],
            row["ai_reasoning"],
            row["ai_confidence"],
            row["used_fallback"],
        )
        == (a.lead_score, a.lead_status, a.summary, a.reasoning, a.confidence, a.used_fallback)
        and (msg.contact_name is None or row["name"] == msg.contact_name)
    )


async def save_analysis(conn: asyncpg.Connection, msg: ContactScored) -> asyncpg.Record:
    """Create or refresh the contact from an analysis; the WHERE keeps newer analyses (§7.5)."""
    a = msg.analysis
    return await conn.fetchrow(
        """
        INSERT INTO contacts AS c (page_id, platform, external_id, name, lead_score, lead_status,
            analyzed_through, last_message_at, ai_summary, ai_reasoning, ai_confidence,
            used_fallback)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11)
        ON CONFLICT (page_id, platform, external_id) DO UPDATE SET
            name = coalesce(EXCLUDED.name, c.name),
            lead_score = EXCLUDED.lead_score,
            lead_status = EXCLUDED.lead_status,
            analyzed_through = EXCLUDED.analyzed_through,
            last_message_at = greatest(c.last_message_at, EXCLUDED.last_message_at),
            ai_summary = EXCLUDED.ai_summary,
            ai_reasoning = EXCLUDED.ai_reasoning,
            ai_confidence = EXCLUDED.ai_confidence,
            used_fallback = EXCLUDED.used_fallback,
            updated_at = now()
        WHERE c.analyzed_through IS NULL OR c.analyzed_through <= EXCLUDED.analyzed_through
        RETURNING id::text, pipeline_id::text, stage_id::text
        """,
        msg.page_id,
        msg.platform,
        msg.contact_id,
        msg.contact_name,
        a.lead_score,
        a.lead_status,
        msg.analyzed_through,
        a.summary,
        a.reasoning,
        a.confidence,
        a.used_fallback,
    )


@dataclass(frozen=True)
class AutoPipeline:
    """A page's placement settings; `version` changes whenever the pipeline's stages do."""

    pipeline_id: str
    mode: PipelineMode
    version: int


async def auto_pipeline(conn: asyncpg.Connection, page_id: str) -> AutoPipeline | None:
    row = await conn.fetchrow(
        """
        SELECT p.auto_pipeline_id::text AS pipeline_id, p.auto_pipeline_mode AS mode, pl.version
        FROM pages p JOIN pipelines pl ON pl.id = p.auto_pipeline_id
        WHERE p.id = $1
        """,
        page_id,
    )
    return AutoPipeline(row["pipeline_id"], PipelineMode(row["mode"]), row["version"]) if row else None


async def stages(conn: asyncpg.Connection, pipeline_id: str) -> tuple[int, list[Stage]]:
    """The pipeline's version and its stages in position order, read in one statement."""
    rows = await conn.fetch(
        """
        SELECT pl.version, s.id::text, s.name, s.type, s.position, s.lead_score_min,
               s.lead_score_max
        FROM pipelines pl LEFT JOIN stages s ON s.pipeline_id = pl.id
        WHERE pl.id = $1::uuid
        ORDER BY s.position
        """,
        pipeline_id,
    )
    version = rows[0]["version"] if rows else -1
    found = [
        Stage(
            id=r["id"],
            name=r["name"],
            type=StageType(r["type"]),
            position=r["position"],
            lead_score_min=r["lead_score_min"],
            lead_score_max=r["lead_score_max"],
        )
        for r in rows
        if r["id"] is not None
    ]
    return version, found


async def save_ranges(conn: asyncpg.Connection, updated: Sequence[Stage]) -> None:
    """Write automatic ranges, only over stages still at the default (a concurrent edit wins)."""
    await conn.executemany(
        """
        UPDATE stages SET lead_score_min = $2, lead_score_max = $3
        WHERE id = $1::uuid AND lead_score_min = 0 AND lead_score_max = 100
          AND (lead_score_min, lead_score_max) <> ($2, $3)
        """,
        [(s.id, s.lead_score_min, s.lead_score_max) for s in updated],
    )


async def move(conn: asyncpg.Connection, contact_id: str, pipeline_id: str, stage_id: str) -> None:
    await conn.execute(
        """
        UPDATE contacts SET pipeline_id = $2::uuid, stage_id = $3::uuid, stage_entered_at = now(),
                            updated_at = now()
        WHERE id = $1::uuid
        """,
        contact_id,
        pipeline_id,
        stage_id,
    )


async def add_activity(
    conn: asyncpg.Connection,
    contact_id: str,
    kind: str,
    *,
    from_stage_id: str | None,
    to_stage_id: str | None,
    lead_score: int,
    details: dict[str, Any],
) -> None:
    await conn.execute(
        """
        INSERT INTO activities (contact_id, type, from_stage_id, to_stage_id, lead_score, details)
        VALUES ($1::uuid, $2, $3::uuid, $4::uuid, $5, $6)
        """,
        contact_id,
        kind,
        from_stage_id,
        to_stage_id,
        lead_score,
        details,
    )
