"""The assigner's handler driven directly over the real database, and the rows it leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from services.assigner.consumer import JobKinds, handle
from services.assigner.pipelines import PipelineCache
from shared.broker import Delivery
from shared.messages import Analysis, ContactScored
from tests.support.pipelines import STAGES as STANDARD

PAGE = "PAGE_A"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


async def make_pipeline(pool: asyncpg.Pool, stages=STANDARD) -> str:
    pid = await pool.fetchval("INSERT INTO pipelines (name) VALUES ('Sales') RETURNING id::text")
    await pool.executemany(
        "INSERT INTO stages (pipeline_id, name, type, position) VALUES ($1::uuid, $2, $3, $4)",
        [(pid, name, typ, i) for i, (name, typ) in enumerate(stages)],
    )
    return pid


async def make_page(pool: asyncpg.Pool, pipeline_id: str | None, mode: str = "UPDATE_EXISTING") -> None:
    await pool.execute(
        """INSERT INTO pages (id, name, auto_pipeline_id, auto_pipeline_mode)
           VALUES ($1, 'Shop', $2::uuid, $3)
           ON CONFLICT (id) DO UPDATE SET auto_pipeline_id = $2::uuid, auto_pipeline_mode = $3""",
        PAGE,
        pipeline_id,
        mode,
    )


def scored(
    contact: str,
    score: int,
    status: str = "QUALIFIED",
    at: int = 0,
    *,
    job_id: str | None = None,
    summary: str = "",
) -> ContactScored:
    return ContactScored(
        page_id=PAGE,
        platform="messenger",
        contact_id=contact,
        contact_name=f"Name {contact}",
        analysis=Analysis(
            lead_score=score, lead_status=status, confidence=70, summary=summary or f"score {score}"
        ),
        analyzed_through=T0 + timedelta(minutes=at),
        message_count=3,
        job_id=job_id,
        origin="backfill" if job_id else "webhook",
    )


async def deliver(
    pool: asyncpg.Pool, cache: PipelineCache, *msgs: ContactScored, kinds: JobKinds | None = None
) -> None:
    await handle(Delivery(list(msgs), "mid", 1), pool=pool, cache=cache, kinds=kinds)


async def state(pool: asyncpg.Pool, contact: str) -> asyncpg.Record:
    return await pool.fetchrow(
        """SELECT c.*, s.name AS stage FROM contacts c LEFT JOIN stages s ON s.id = c.stage_id
           WHERE c.external_id = $1""",
        contact,
    )


async def activities(pool: asyncpg.Pool, contact: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT a.type, a.lead_score, a.details, f.name AS from_stage, t.name AS to_stage
           FROM activities a JOIN contacts c ON c.id = a.contact_id
           LEFT JOIN stages f ON f.id = a.from_stage_id LEFT JOIN stages t ON t.id = a.to_stage_id
           WHERE c.external_id = $1 ORDER BY a.id""",
        contact,
    )
