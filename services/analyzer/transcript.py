"""The transcript store: messages upserted idempotently by mid, conversations loaded for scoring."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from shared.messages import ChatMessage, ConversationUpdated

MAX_MESSAGES = 50


async def store(conn: asyncpg.Connection, event: ConversationUpdated) -> None:
    """Upsert the event's messages; repeats of the same mid change nothing."""
    if not event.messages:
        return
    await conn.executemany(
        """
        INSERT INTO messages (mid, page_id, platform, contact_external_id, from_page, text,
                              attachments, sent_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (mid) DO NOTHING
        """,
        [
            (m.mid, event.page_id, event.platform, event.contact_id, m.from_page, m.text,
             m.attachments, m.sent_at)
            for m in event.messages
        ],
    )


async def load(
    conn: asyncpg.Connection, page_id: str, platform: str, contact_id: str,
    *, limit: int = MAX_MESSAGES,
) -> Sequence[ChatMessage]:
    """The newest `limit` messages of a conversation, oldest first."""
    rows = await conn.fetch(
        """
        SELECT mid, from_page, text, attachments, sent_at FROM messages
        WHERE page_id = $1 AND platform = $2 AND contact_external_id = $3
        ORDER BY sent_at DESC, mid DESC LIMIT $4
        """,
        page_id, platform, contact_id, limit,
    )
    return [
        ChatMessage(mid=r["mid"], from_page=r["from_page"], text=r["text"],
                    attachments=r["attachments"] or [], sent_at=r["sent_at"])
        for r in reversed(rows)
    ]
