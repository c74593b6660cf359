"""The score ledger (DESIGN §6 `scores`): one row per analysis, appended in the contact's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from shared.messages import Analysis, ContactScored, content_id


def analysis_id(msg: ContactScored, analysis: Analysis, *, shadow: bool) -> str:
    """The analysis's own id; older messages without one get a hash of what they say."""
    if analysis.analysis_id:
        return analysis.analysis_id
    return content_id(
        "analysis",
        msg.page_id,
        msg.platform,
        msg.contact_id,
        msg.analyzed_through,
        analysis.model_dump(mode="json"),
        shadow,
    )


Entry = tuple[str, ContactScored, Analysis, bool]  # (contact_id, message, analysis, shadow)


async def append(conn: asyncpg.Connection, entries: Sequence[Entry]) -> set[tuple[str, str]]:
    """Append a batch's analyses in one statement; returns the (contact_id, analysis_id) pairs
    inserted (a pair missing was already in the ledger: a redelivery or a republish).

    Evidence keeps only mids stored for this conversation, so every cited message can be shown
    (all the batch's cited mids checked in one statement).
    """
    if not entries:
        return set()
    cited = sorted({mid for _, _, a, _ in entries for mid in _cited(a)})
    known: set[tuple[str, str, str, str]] = set()
    if cited:
        known = {
            tuple(r)
            for r in await conn.fetch(
                """SELECT page_id, platform, contact_external_id, mid FROM messages
               WHERE mid = ANY($1::text[])""",
                cited,
            )
        }
    columns: list[list[Any]] = [[] for _ in range(16)]
    for contact_id, msg, analysis, shadow in entries:
        mine = {mid for mid in _cited(analysis) if (msg.page_id, msg.platform, msg.contact_id, mid) in known}
        signals = [
            {"signal": s.signal, "points": s.points, "mids": [m for m in s.mids if m in mine]}
            for s in analysis.signals
        ]
        evidence = [m for m in dict.fromkeys(analysis.evidence) if m in mine]
        row = (
            contact_id,
            analysis_id(msg, analysis, shadow=shadow),
            msg.analyzed_through,
            analysis.lead_score,
            analysis.lead_status,
            analysis.recommended_stage,
            analysis.confidence,
            analysis.summary,
            analysis.reasoning,
            orjson.dumps(signals).decode(),
            orjson.dumps(evidence).decode(),
            analysis.model,
            analysis.prompt_version,
            analysis.used_fallback,
            shadow,
            msg.job_id,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    rows = await conn.fetch(
        """
        INSERT INTO scores (contact_id, analysis_id, analyzed_through, lead_score, lead_status,
            recommended_stage, confidence, summary, reasoning, signals, evidence, model,
            prompt_version, used_fallback, shadow, job_id)
        SELECT e.contact_id::uuid, e.analysis_id, e.analyzed_through, e.lead_score, e.lead_status,
               e.recommended_stage, e.confidence, e.summary, e.reasoning, e.signals::jsonb,
               e.evidence::jsonb, e.model, e.prompt_version, e.used_fallback, e.shadow,
               e.job_id::uuid
        FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::text[], $6::text[],
                    $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                    $13::text[], $14::boolean[], $15::boolean[], $16::text[])
             WITH ORDINALITY AS e(contact_id, analysis_id, analyzed_through, lead_score,
                  lead_status, recommended_stage, confidence, summary, reasoning, signals,
                  evidence, model, prompt_version, used_fallback, shadow, job_id, n)
        ORDER BY e.n
        ON CONFLICT (contact_id, analysis_id) DO NOTHING
        RETURNING contact_id::text, analysis_id
        """,
        *columns,
    )
    return {(r["contact_id"], r["analysis_id"]) for r in rows}


def _cited(analysis: Analysis) -> set[str]:
    return {mid for s in analysis.signals for mid in s.mids} | set(analysis.evidence)
