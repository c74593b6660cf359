"""SQL of the assigner: contacts, pages' auto pipelines, stages and activities; the caller owns the
transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

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


Key = tuple[str, str, str]  # (page_id, platform, external_id)


def key_of(msg: ContactScored) -> Key:
    return (msg.page_id, msg.platform, msg.contact_id)


def _keys(msgs: Sequence[ContactScored]) -> list[list[str]]:
    return [[m.page_id for m in msgs], [m.platform for m in msgs], [m.contact_id for m in msgs]]


async def contacts(conn: asyncpg.Connection, msgs: Sequence[ContactScored]) -> dict[Key, asyncpg.Record]:
    """The stored rows of a batch's contacts, in one statement (on the unique key's index)."""
    rows = await conn.fetch(
        """
        SELECT c.page_id, c.platform, c.external_id,
               c.id::text, c.name, c.pipeline_id::text, c.stage_id::text, s.name AS stage_name,
               c.lead_score, c.lead_status, c.analyzed_through, c.ai_summary, c.ai_reasoning,
               c.ai_confidence, c.used_fallback
        FROM unnest($1::text[], $2::text[], $3::text[]) AS k(page_id, platform, external_id)
        JOIN contacts c
          ON c.page_id = k.page_id AND c.platform = k.platform AND c.external_id = k.external_id
        LEFT JOIN stages s ON s.id = c.stage_id
        """,
        *_keys(msgs),
    )
    return {(r["page_id"], r["platform"], r["external_id"]): r for r in rows}


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


async def save_analyses(conn: asyncpg.Connection, msgs: Sequence[ContactScored]) -> dict[Key, asyncpg.Record]:
    """Create or refresh contacts from analyses (one per contact) in one statement; the WHERE
    keeps newer analyses (§7.5)."""
    rows = await conn.fetch(
        """
        INSERT INTO contacts AS c (page_id, platform, external_id, name, lead_score, lead_status,
            analyzed_through, last_message_at, ai_summary, ai_reasoning, ai_confidence,
            used_fallback)
        SELECT k.page_id, k.platform, k.external_id, k.name, k.lead_score, k.lead_status,
               k.analyzed_through, k.analyzed_through, k.ai_summary, k.ai_reasoning,
               k.ai_confidence, k.used_fallback
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[],
                    $7::timestamptz[], $8::text[], $9::text[], $10::int[], $11::boolean[])
             AS k(page_id, platform, external_id, name, lead_score, lead_status, analyzed_through,
                  ai_summary, ai_reasoning, ai_confidence, used_fallback)
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
        RETURNING page_id, platform, external_id, id::text, pipeline_id::text, stage_id::text
        """,
        *_keys(msgs),
        [m.contact_name for m in msgs],
        [m.analysis.lead_score for m in msgs],
        [m.analysis.lead_status for m in msgs],
        [m.analyzed_through for m in msgs],
        [m.analysis.summary for m in msgs],
        [m.analysis.reasoning for m in msgs],
        [m.analysis.confidence for m in msgs],
        [m.analysis.used_fallback for m in msgs],
    )
    return {(r["page_id"], r["platform"], r["external_id"]): r for r in rows}


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


@dataclass(frozen=True)
class Activity:
    """One activities row; `move_to` set when the contact also moves to that pipeline's stage."""

    contact_id: str
    kind: str
    from_stage_id: str | None
    to_stage_id: str | None
    lead_score: int
    details: dict[str, Any]
    move_to: tuple[str, str] | None = None  # (pipeline_id, stage_id)


async def record(conn: asyncpg.Connection, activities: Sequence[Activity]) -> None:
    """A batch's moves in one statement and its activities in another (in the batch's order)."""
    moves = [(a.contact_id, *a.move_to) for a in activities if a.move_to is not None]
    if moves:
        await conn.execute(
            """
            UPDATE contacts c SET pipeline_id = m.pipeline_id::uuid, stage_id = m.stage_id::uuid,
                                  stage_entered_at = now(), updated_at = now()
            FROM unnest($1::text[], $2::text[], $3::text[]) AS m(id, pipeline_id, stage_id)
            WHERE c.id = m.id::uuid
            """,
            *(list(column) for column in zip(*moves, strict=True)),
        )
    if activities:
        await conn.execute(
            """
            INSERT INTO activities (contact_id, type, from_stage_id, to_stage_id, lead_score, details)
            SELECT a.contact_id::uuid, a.type, a.from_stage_id::uuid, a.to_stage_id::uuid,
                   a.lead_score, a.details::jsonb
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[])
                 WITH ORDINALITY AS a(contact_id, type, from_stage_id, to_stage_id, lead_score,
                                      details, n)
            ORDER BY a.n
            """,
            [a.contact_id for a in activities],
            [a.kind for a in activities],
            [a.from_stage_id for a in activities],
            [a.to_stage_id for a in activities],
            [a.lead_score for a in activities],
            [orjson.dumps(a.details).decode() for a in activities],
        )
