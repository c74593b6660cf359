"""The assigner's score ledger, shadow rows and RESCORE placement over the real database."""

from __future__ import annotations

from typing import Any

import asyncpg
from prometheus_client import REGISTRY

from services.assigner.consumer import JobKinds
from services.assigner.pipelines import PipelineCache
from shared.messages import Analysis, ScoreSignal
from tests.support.assigner import PAGE, T0, deliver, make_page, make_pipeline, scored, state


async def ledger(pool: asyncpg.Pool, contact: str) -> list[asyncpg.Record]:
    return await pool.fetch(
        """SELECT s.* FROM scores s JOIN contacts c ON c.id = s.contact_id
           WHERE c.external_id = $1 ORDER BY s.id""",
        contact,
    )


async def store_messages(pool: asyncpg.Pool, contact: str, *mids: str) -> None:
    await pool.executemany(
        """INSERT INTO messages (mid, page_id, platform, contact_external_id, from_page, text, sent_at)
           VALUES ($1, $2, 'messenger', $3, false, 'hi', $4)""",
        [(mid, PAGE, contact, T0) for mid in mids],
    )


async def test_every_analysis_is_one_ledger_row_citing_only_stored_messages(clean_db):
    await make_page(clean_db, await make_pipeline(clean_db))
    await store_messages(clean_db, "u1", "m_1", "m_2")
    first = scored("u1", 44).model_copy(
        update={
            "analysis": Analysis(
                lead_score=44,
                lead_status="CONTACTED",
                confidence=30,
                used_fallback=True,
                model="fallback",
                prompt_version="fallback-2",
                analysis_id="a-1",
                evidence=["m_2", "m_elsewhere", "m_2"],
                signals=[ScoreSignal(signal="asked the price", points=8, mids=["m_1", "m_gone"])],
            )
        }
    )
    cache = PipelineCache()
    await deliver(clean_db, cache, first)
    await deliver(clean_db, cache, first)  # redelivered: still one row
    # The analyzer republishes a covered analysis for another job: the same analysis, no new row.
    job = await clean_db.fetchval(
        "INSERT INTO jobs (page_id, kind, status) VALUES ($1, 'FULL', 'IN_PROGRESS') RETURNING id::text", PAGE
    )
    await deliver(clean_db, cache, first.model_copy(update={"job_id": job, "origin": "backfill"}))
    later = scored("u1", 71, at=3)  # no analysis_id (an older producer): identified by content
    await deliver(clean_db, cache, later)
    await deliver(clean_db, cache, later)
    stale = scored("u1", 10, "NEW", at=1)  # older than the contact's: dropped, but it was made
    await deliver(clean_db, cache, stale)
    rows = await ledger(clean_db, "u1")
    assert [(r["lead_score"], r["lead_status"], r["analyzed_through"]) for r in rows] == [
        (44, "CONTACTED", T0),
        (71, "QUALIFIED", later.analyzed_through),
        (10, "NEW", stale.analyzed_through),
    ]
    one = rows[0]
    assert one["evidence"] == ["m_2"]  # unknown mids dropped, duplicates once
    assert one["signals"] == [{"signal": "asked the price", "points": 8, "mids": ["m_1"]}]
    assert (one["model"], one["prompt_version"], one["used_fallback"], one["shadow"], one["job_id"]) == (
        "fallback",
        "fallback-2",
        True,
        False,
        None,
    )
    stored = {r["mid"] for r in await clean_db.fetch("SELECT mid FROM messages")}
    for row in await clean_db.fetch("SELECT evidence, signals FROM scores"):
        assert set(row["evidence"]) <= stored
        assert all(set(s["mids"]) <= stored for s in row["signals"])
    assert (await state(clean_db, "u1"))["lead_score"] == 71


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_shadow_analysis_is_ledgered_and_never_moves_the_contact(clean_db):
    await make_page(clean_db, await make_pipeline(clean_db))
    cache = PipelineCache()
    before = (
        _metric("leadsync_shadow_analyses_total", label="QUALIFIED", agreed="false"),
        _metric("leadsync_shadow_stage_disagreements_total"),
    )
    live = scored("u1", 45)  # Qualified
    # The candidate says WON 95 and LOST 5 on later turns: neither moves the contact.
    for at, (score, status) in enumerate([(95, "WON"), (5, "LOST")]):
        msg = live.model_copy(
            update={
                "analyzed_through": T0.replace(minute=at),
                "analysis": live.analysis.model_copy(update={"analysis_id": f"live-{at}"}),
                "shadow": Analysis(
                    lead_score=score,
                    lead_status=status,
                    confidence=60,
                    model="candidate-model",
                    prompt_version="lead-v3",
                    analysis_id=f"shadow-{at}",
                ),
            }
        )
        await deliver(clean_db, cache, msg)
        await deliver(clean_db, cache, msg)  # a redelivery counts nothing twice
    row = await state(clean_db, "u1")
    assert (row["stage"], row["lead_score"], row["lead_status"]) == ("Qualified", 45, "QUALIFIED")
    rows = await ledger(clean_db, "u1")
    assert [(r["shadow"], r["lead_score"], r["model"]) for r in rows] == [
        (False, 45, ""),
        (True, 95, "candidate-model"),
        (False, 45, ""),
        (True, 5, "candidate-model"),
    ]
    moves = await clean_db.fetchval(
        "SELECT count(*) FROM activities a JOIN contacts c ON c.id = a.contact_id WHERE c.external_id = 'u1'"
    )
    assert moves == 1  # the first placement only
    after = (
        _metric("leadsync_shadow_analyses_total", label="QUALIFIED", agreed="false"),
        _metric("leadsync_shadow_stage_disagreements_total"),
    )
    assert (after[0] - before[0], after[1] - before[1]) == (2, 2)
    assert _metric("leadsync_shadow_agreement", label="QUALIFIED") is not None


async def rescore_job(pool: asyncpg.Pool, *, dry_run: bool, total: int) -> str:
    return await pool.fetchval(
        """INSERT INTO jobs (page_id, kind, status, params, total_contacts, enumeration_done,
                             started_at)
           VALUES ($1, 'RESCORE', 'IN_PROGRESS', $2, $3, true, now()) RETURNING id::text""",
        PAGE,
        {"dry_run": dry_run},
        total,
    )


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: [tuple(r) for r in await pool.fetch(f"SELECT * FROM {table} ORDER BY 1")]
        for table in ("contacts", "activities", "scores", "stages")
    }


async def test_a_dry_run_decides_like_the_real_run_and_writes_only_its_items(clean_db):
    pipeline = await make_pipeline(clean_db)
    await make_page(clean_db, pipeline)
    cache = PipelineCache()
    # Today: a cold lead, a hot one, a sale, a lost one, one cooling down, one steady.
    await deliver(
        clean_db,
        cache,
        scored("cold", 15, "CONTACTED"),
        scored("hot", 75),
        scored("sold", 95, "WON"),
        scored("gone", 5, "LOST"),
        scored("cooling", 70),
        scored("steady", 45),
    )
    # The replay (a new prompt, say) scores them again at the same transcript time.
    again = [
        scored("cold", 60),
        scored("hot", 85, "LOST"),
        scored("sold", 10, "LOST"),
        scored("gone", 50),
        scored("cooling", 25, "CONTACTED"),
        scored("steady", 46),
        scored("new", 85, "WON"),
    ]
    before = await snapshot(clean_db)
    dry = await rescore_job(clean_db, dry_run=True, total=len(again))
    kinds = JobKinds()
    for msg in again:
        await deliver(clean_db, cache, msg.model_copy(update={"job_id": dry, "origin": "backfill"}))
    assert await snapshot(clean_db) == before  # no contact, activity, score or range changed
    job = await clean_db.fetchrow("SELECT status, result FROM jobs WHERE id = $1::uuid", dry)
    assert job["status"] == "COMPLETED"
    assert job["result"]["moves"] == {
        "into_won": 1,
        "into_lost": 0,
        "up": 2,
        "down": 1,
        "blocked": 2,
        "unchanged": 1,
    }
    examples = {
        e["external_id"]: (e["from"], e["to"], e["move"], e["reason"]) for e in job["result"]["examples"]
    }
    assert examples == {
        "new": (None, "Won", "into_won", "placed"),
        "cold": ("Warm", "Negotiation", "up", "placed"),
        "gone": ("Lost", "Qualified", "up", "placed"),  # a lost lead that comes back
        "hot": ("Negotiation", "Lost", "blocked", "downgrade"),
        "sold": ("Won", "Lost", "blocked", "won_is_final"),
        "cooling": ("Negotiation", "Engaged", "down", "placed"),
    }  # unchanged ones are counted, not shown
    real = await rescore_job(clean_db, dry_run=False, total=len(again))
    for msg in again:
        await deliver(
            clean_db, cache, msg.model_copy(update={"job_id": real, "origin": "backfill"}), kinds=kinds
        )
    real_job = await clean_db.fetchrow("SELECT result FROM jobs WHERE id = $1::uuid", real)
    assert real_job["result"] == job["result"]  # the real run made exactly the reported moves
    stages = {
        r["external_id"]: r["stage"]
        for r in await clean_db.fetch(
            "SELECT c.external_id, s.name AS stage FROM contacts c JOIN stages s ON s.id = c.stage_id"
        )
    }
    assert stages == {
        "new": "Won",
        "cold": "Negotiation",
        "gone": "Qualified",
        "hot": "Negotiation",
        "sold": "Won",
        "cooling": "Engaged",
        "steady": "Qualified",
    }
    rescored = await clean_db.fetchval("SELECT count(*) FROM scores WHERE job_id = $1::uuid", real)
    assert rescored == len(again)
