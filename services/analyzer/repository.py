"""The analyzer's own rows: per-conversation revisions and last analysis, and the page's stages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.analyzer.transcript import Key
from shared.messages import Analysis
from shared.vocabulary import Stage, StageType


@dataclass(frozen=True)
class State:
    """Where a conversation stands: its transcript revision and what the last analysis covered."""

    revision: int
    analyzed_revision: int
    analysis: Analysis | None = None
    analyzed_through: datetime | None = None
    message_count: int = 0

    @property
    def covered(self) -> bool:
        """True when the last published analysis already saw every stored change."""
        return self.analysis is not None and self.analyzed_revision >= self.revision


async def bump(conn: asyncpg.Connection, key: Key, changed: int) -> State:
    """Count a change to the stored transcript (none when `changed` is 0); returns the state."""
    row = await conn.fetchrow(
        """
        INSERT INTO analyzer_conversations AS c (page_id, platform, contact_external_id, revision)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (page_id, platform, contact_external_id) DO UPDATE
            SET revision = c.revision + excluded.revision, updated_at = now()
        RETURNING revision, analyzed_revision, analysis, analyzed_through, message_count
        """,
        key.page_id, key.platform, key.contact_id, 1 if changed else 0,
    )
    return _state(row)


async def state(conn: asyncpg.Connection | asyncpg.Pool, key: Key) -> State:
    row = await conn.fetchrow(
        """
        SELECT revision, analyzed_revision, analysis, analyzed_through, message_count
        FROM analyzer_conversations
        WHERE page_id = $1 AND platform = $2 AND contact_external_id = $3
        """,
        key.page_id, key.platform, key.contact_id,
    )
    return _state(row) if row is not None else State(0, 0)


def _state(row: asyncpg.Record) -> State:
    analysis = Analysis.model_validate(row["analysis"]) if row["analysis"] is not None else None
    return State(row["revision"], row["analyzed_revision"], analysis, row["analyzed_through"],
                 row["message_count"] or 0)


async def mark_analysed(
    conn: asyncpg.Connection | asyncpg.Pool, key: Key, *, revision: int, analysis: Analysis,
    analyzed_through: datetime, message_count: int,
) -> None:
    """Record a published analysis; an older revision never overwrites a newer one."""
    await conn.execute(
        """
        UPDATE analyzer_conversations SET analyzed_revision = $4, analysis = $5,
               analyzed_through = $6, message_count = $7, updated_at = now()
        WHERE page_id = $1 AND platform = $2 AND contact_external_id = $3
          AND analyzed_revision <= $4
        """,
        key.page_id, key.platform, key.contact_id, revision, analysis.model_dump(mode="json"),
        analyzed_through, message_count,
    )


async def stages(conn: asyncpg.Connection | asyncpg.Pool, page_id: str) -> list[Stage]:
    """The stages of the page's auto pipeline, in position order (empty without one)."""
    rows = await conn.fetch(
        """
        SELECT s.name, s.type, s.lead_score_min, s.lead_score_max
        FROM pages p JOIN stages s ON s.pipeline_id = p.auto_pipeline_id
        WHERE p.id = $1 ORDER BY s.position
        """,
        page_id,
    )
    return [Stage(name=r["name"], type=StageType(r["type"]), lead_score_min=r["lead_score_min"],
                  lead_score_max=r["lead_score_max"]) for r in rows]



async def save_names(conn: asyncpg.Connection | asyncpg.Pool,
                     names: list[tuple[str, str, str, str]]) -> None:
    """Names looked up after their contacts were scored (or before the assigner created them):
    the assigner keeps a stored name (`coalesce(new, stored)`), so the order of writes is free."""
    await conn.execute(
        """
        INSERT INTO contacts AS c (page_id, platform, external_id, name)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
        ON CONFLICT (page_id, platform, external_id) DO UPDATE SET name = EXCLUDED.name,
            updated_at = now()
        WHERE c.name IS DISTINCT FROM EXCLUDED.name
        """,
        *(list(column) for column in zip(*names, strict=True)),
    )
