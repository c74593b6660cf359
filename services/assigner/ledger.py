"""The score ledger (DESIGN §6 `scores`): one row per analysis, appended in the contact's transaction."""

from __future__ import annotations

import asyncpg

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


async def append(
    conn: asyncpg.Connection,
    contact_id: str,
    msg: ContactScored,
    analysis: Analysis,
    *,
    shadow: bool = False,
) -> bool:
    """Append the analysis; False when the ledger already holds it (a redelivery or a republish).

    Evidence keeps only mids stored for this conversation, so every cited message can be shown.
    """
    cited = {mid for s in analysis.signals for mid in s.mids} | set(analysis.evidence)
    known: set[str] = set()
    if cited:
        known = {
            r["mid"]
            for r in await conn.fetch(
                """SELECT mid FROM messages WHERE mid = ANY($1::text[])
               AND page_id = $2 AND platform = $3 AND contact_external_id = $4""",
                sorted(cited),
                msg.page_id,
                msg.platform,
                msg.contact_id,
            )
        }
    signals = [
        {"signal": s.signal, "points": s.points, "mids": [m for m in s.mids if m in known]}
        for s in analysis.signals
    ]
    evidence = [m for m in dict.fromkeys(analysis.evidence) if m in known]
    inserted = await conn.fetchval(
        """
        INSERT INTO scores (contact_id, analysis_id, analyzed_through, lead_score, lead_status,
            recommended_stage, confidence, summary, reasoning, signals, evidence, model,
            prompt_version, used_fallback, shadow, job_id)
        VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::uuid)
        ON CONFLICT (contact_id, analysis_id) DO NOTHING
        RETURNING true
        """,
        contact_id,
        analysis_id(msg, analysis, shadow=shadow),
        msg.analyzed_through,
        analysis.lead_score,
        analysis.lead_status,
        analysis.recommended_stage,
        analysis.confidence,
        analysis.summary,
        analysis.reasoning,
        signals,
        evidence,
        analysis.model,
        analysis.prompt_version,
        analysis.used_fallback,
        shadow,
        msg.job_id,
    )
    return bool(inserted)
