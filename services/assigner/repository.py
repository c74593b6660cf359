"""SQL of the assigner: contacts, stages and activities; the caller owns the transaction."""

from __future__ import annotations

import asyncpg

from shared.messages import ContactScored


async def upsert_contact(conn: asyncpg.Connection, msg: ContactScored) -> asyncpg.Record:
    """Create or refresh the contact row from an analysis, unless a newer one was applied."""
    a = msg.analysis
    row = await conn.fetchrow(
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
        RETURNING *
        """,
        msg.page_id, msg.platform, msg.contact_id, msg.contact_name, a.lead_score,
        a.lead_status, msg.analyzed_through, a.summary, a.reasoning, a.confidence,
        a.used_fallback,
    )
    return row
