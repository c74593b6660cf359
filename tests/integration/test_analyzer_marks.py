"""The analyzer's marks of published analyses: written together, a bad one failing alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from services.analyzer.repository import Mark, Marks
from services.analyzer.transcript import Key
from shared import db
from shared.messages import Analysis

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def mark(contact: str, revision: int, score: int, *, count: int = 3) -> Mark:
    analysis = Analysis(lead_score=score, lead_status="QUALIFIED", confidence=70)
    return Mark(Key("PMARKS", "messenger", contact), revision, analysis, T0, count)


@pytest.fixture
async def conversations(clean_db: asyncpg.Pool) -> asyncpg.Pool:
    await clean_db.execute("DELETE FROM analyzer_conversations WHERE page_id = 'PMARKS'")
    await clean_db.executemany(
        """INSERT INTO analyzer_conversations (page_id, platform, contact_external_id, revision)
           VALUES ('PMARKS', 'messenger', $1, 2)""",
        [(c,) for c in ("u1", "u2", "u3")],
    )
    return clean_db


async def stored(pool: asyncpg.Pool) -> dict[str, tuple[int, int | None]]:
    rows = await pool.fetch(
        "SELECT contact_external_id, analyzed_revision, analysis->>'lead_score' "
        "AS score FROM analyzer_conversations WHERE page_id = 'PMARKS'"
    )
    return {r["contact_external_id"]: (r["analyzed_revision"], r["score"] and int(r["score"])) for r in rows}


async def test_marks_made_together_are_one_statement_and_the_newest_revision_wins(
    conversations, database_url
):
    pool = await db.create_pool(database_url, min_size=1, max_size=1)
    seen: list[str] = []
    try:
        async with pool.acquire() as conn:
            conn.add_query_logger(lambda record: seen.append(record.query))
        marks = Marks(pool)
        await asyncio.gather(
            marks.add(mark("u1", 2, 40)),
            marks.add(mark("u2", 2, 50)),
            marks.add(mark("u3", 2, 60)),
            marks.add(mark("u1", 1, 99)),
        )
    finally:
        await pool.close()
    assert sum("UPDATE analyzer_conversations" in q for q in seen) == 1  # not type introspection
    assert await stored(conversations) == {"u1": (2, 40), "u2": (2, 50), "u3": (2, 60)}


async def test_a_bad_mark_fails_alone(conversations):
    marks = Marks(conversations)
    results = await asyncio.gather(
        marks.add(mark("u1", 2, 40)),
        marks.add(mark("u2", 2, 50, count=2**40)),
        marks.add(mark("u3", 2, 60)),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], Exception)
    assert await stored(conversations) == {"u1": (2, 40), "u2": (0, None), "u3": (2, 60)}
