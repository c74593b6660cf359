"""The assigner's handler over the real database: placement, activities, ordering, jobs, redelivery."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from services.assigner.pipelines import PipelineCache
from shared import db
from shared.messages import ContactScored
from tests.support.assigner import (
    PAGE,
    activities,
    deliver,
    make_page,
    make_pipeline,
    scored,
    state,
)


@pytest.fixture
async def pipeline_id(clean_db: asyncpg.Pool) -> str:
    pid = await make_pipeline(clean_db)
    await make_page(clean_db, pid)
    return pid


async def test_first_analysis_generates_ranges_and_places_with_an_activity(clean_db, pipeline_id):
    await deliver(clean_db, PipelineCache(), scored("u1", 45))
    ranges = await clean_db.fetch("SELECT name, lead_score_min, lead_score_max FROM stages ORDER BY position")
    assert [(r[0], r[1], r[2]) for r in ranges] == [
        ("New", 0, 10),
        ("Warm", 11, 20),
        ("Engaged", 21, 30),
        ("Qualified", 31, 55),
        ("Negotiation", 56, 80),
        ("Won", 81, 100),
        ("Lost", 0, 20),
        ("Archive", 0, 100),
    ]
    row = await state(clean_db, "u1")
    assert (row["stage"], row["lead_score"], row["name"]) == ("Qualified", 45, "Name u1")
    assert str(row["pipeline_id"]) == pipeline_id and row["stage_entered_at"] is not None
    [act] = await activities(clean_db, "u1")
    assert (act["type"], act["from_stage"], act["to_stage"], act["lead_score"]) == (
        "STAGE_CHANGED",
        None,
        "Qualified",
        45,
    )
    assert act["details"]["rule"] == "score_range" and act["details"]["downgrade_blocked"] is False


async def test_redelivery_changes_nothing(clean_db, pipeline_id):
    cache = PipelineCache()
    msg = scored("u1", 70)
    await deliver(clean_db, cache, msg)
    before = await state(clean_db, "u1")
    await deliver(clean_db, cache, msg)
    await deliver(clean_db, PipelineCache(), msg)  # another process
    after = await state(clean_db, "u1")
    assert dict(after) == dict(before)
    assert len(await activities(clean_db, "u1")) == 1


async def test_update_mode_moves_and_skip_mode_keeps(clean_db, pipeline_id):
    cache = PipelineCache()
    await deliver(clean_db, cache, scored("u1", 20, "CONTACTED"), scored("u2", 20, "CONTACTED"))
    await deliver(clean_db, cache, scored("u1", 70, at=1))
    assert (await state(clean_db, "u1"))["stage"] == "Negotiation"
    await make_page(clean_db, pipeline_id, "SKIP_EXISTING")
    await deliver(clean_db, cache, scored("u2", 70, at=1), scored("u3", 70, at=1))
    u2 = await state(clean_db, "u2")
    assert (u2["stage"], u2["lead_score"]) == ("Warm", 70)  # row updated, stage kept
    assert (await state(clean_db, "u3"))["stage"] == "Negotiation"  # new contact placed
    moves = [(a["from_stage"], a["to_stage"]) for a in await activities(clean_db, "u1")]
    assert moves == [(None, "Warm"), ("Warm", "Negotiation")]


async def test_contact_in_another_pipeline_is_left_alone(clean_db, pipeline_id):
    cache = PipelineCache()
    await deliver(clean_db, cache, scored("u1", 20))
    other = await make_pipeline(clean_db, [("Manual", "LEAD")])
    await clean_db.execute(
        """UPDATE contacts SET pipeline_id = $1::uuid,
               stage_id = (SELECT id FROM stages WHERE name = 'Manual')""",
        other,
    )
    await deliver(clean_db, cache, scored("u1", 75, at=1))
    row = await state(clean_db, "u1")
    assert (row["stage"], row["lead_score"]) == ("Manual", 75)


async def test_no_auto_pipeline_updates_the_contact_without_placing(clean_db):
    await make_page(clean_db, None)
    await deliver(
        clean_db,
        PipelineCache(),
        scored("u1", 50),
        scored("u9", 50).model_copy(update={"page_id": "UNKNOWN_PAGE"}),
    )
    row = await state(clean_db, "u1")
    assert (row["lead_score"], row["stage_id"]) == (50, None)
    assert await clean_db.fetchval("SELECT count(*) FROM activities") == 0


async def test_hot_contact_downgrade_is_blocked_and_recorded(clean_db, pipeline_id):
    cache = PipelineCache()
    await deliver(clean_db, cache, scored("u1", 78))
    await deliver(clean_db, cache, scored("u1", 85, "LOST", at=1))
    row = await state(clean_db, "u1")
    assert (row["stage"], row["lead_score"], row["lead_status"]) == ("Negotiation", 85, "LOST")
    first, blocked = await activities(clean_db, "u1")
    assert (first["type"], first["to_stage"], first["details"]["rule"]) == (
        "STAGE_CHANGED",
        "Negotiation",
        "score_range",
    )
    assert (blocked["type"], blocked["from_stage"], blocked["to_stage"]) == (
        "STAGE_CHANGE_BLOCKED",
        "Negotiation",
        None,
    )
    assert blocked["details"]["blocked"] == "downgrade" and blocked["details"]["to"] == "Lost"
    # A cooled-down contact may leave the hot stage.
    await deliver(clean_db, cache, scored("u1", 15, "CONTACTED", at=2))
    assert (await state(clean_db, "u1"))["stage"] == "Warm"


async def test_a_won_contact_is_never_moved_by_an_analysis(clean_db, pipeline_id):
    cache = PipelineCache()
    await deliver(clean_db, cache, scored("u1", 92, "WON"))
    # "ok stop" after paying, then a cold chat: the rules keep the sale; each refusal is logged.
    await deliver(clean_db, cache, scored("u1", 85, "LOST", at=1))
    await deliver(clean_db, cache, scored("u1", 12, "CONTACTED", at=2))
    row = await state(clean_db, "u1")
    assert (row["stage"], row["lead_score"], row["lead_status"]) == ("Won", 12, "CONTACTED")
    first, *blocked = await activities(clean_db, "u1")
    assert (first["type"], first["to_stage"]) == ("STAGE_CHANGED", "Won")
    assert [(b["type"], b["from_stage"], b["details"]["blocked"], b["details"]["to"]) for b in blocked] == [
        ("STAGE_CHANGE_BLOCKED", "Won", "won_is_final", "Lost"),
        ("STAGE_CHANGE_BLOCKED", "Won", "won_is_final", "Warm"),
    ]
    assert all(b["details"]["downgrade_blocked"] is False for b in blocked)


async def test_a_lost_contact_that_comes_back_is_placed_again(clean_db, pipeline_id):
    cache = PipelineCache()
    await deliver(clean_db, cache, scored("u1", 8, "LOST"))
    assert (await state(clean_db, "u1"))["stage"] == "Lost"
    await deliver(clean_db, cache, scored("u1", 84, "QUALIFIED", at=1))  # hot again
    assert (await state(clean_db, "u1"))["stage"] == "Negotiation"
    moves = [(a["type"], a["from_stage"], a["to_stage"]) for a in await activities(clean_db, "u1")]
    assert moves == [("STAGE_CHANGED", None, "Lost"), ("STAGE_CHANGED", "Lost", "Negotiation")]


async def test_stale_analysis_is_dropped_but_settles_its_job_once(clean_db, pipeline_id):
    job = await clean_db.fetchval(
        """INSERT INTO jobs (page_id, kind, status, total_contacts, enumeration_done, started_at)
           VALUES ($1, 'FULL', 'IN_PROGRESS', 2, true, now()) RETURNING id::text""",
        PAGE,
    )
    cache = PipelineCache()
    await deliver(clean_db, cache, scored("u1", 60, at=5))
    stale = scored("u1", 5, "NEW", at=1, job_id=job)
    await deliver(clean_db, cache, stale)
    await deliver(clean_db, cache, stale)  # redelivered
    row = await state(clean_db, "u1")
    assert (row["lead_score"], row["stage"]) == (60, "Negotiation")
    counts = await clean_db.fetchrow("SELECT synced_contacts, status FROM jobs WHERE id = $1::uuid", job)
    assert (counts["synced_contacts"], counts["status"]) == (1, "IN_PROGRESS")
    await deliver(clean_db, cache, scored("u2", 40, job_id=job))
    counts = await clean_db.fetchrow("SELECT synced_contacts, status FROM jobs WHERE id = $1::uuid", job)
    assert (counts["synced_contacts"], counts["status"]) == (2, "COMPLETED")


async def test_a_batch_applies_one_contacts_analyses_oldest_first(clean_db, pipeline_id):
    await deliver(clean_db, PipelineCache(), scored("u1", 70, at=2), scored("u1", 20, "CONTACTED", at=1))
    moves = [(a["from_stage"], a["to_stage"]) for a in await activities(clean_db, "u1")]
    assert moves == [(None, "Warm"), ("Warm", "Negotiation")]
    assert (await state(clean_db, "u1"))["lead_score"] == 70


async def test_a_batch_takes_the_same_few_statements_whatever_its_size(clean_db, pipeline_id, database_url):
    # Set-based per batch (issue 15): 20 contacts cost the statements 2 do, not ten times more.
    cache = PipelineCache()

    async def statements(*msgs: ContactScored) -> int:
        pool = await db.create_pool(database_url, min_size=1, max_size=1)
        seen: list[str] = []
        try:
            async with pool.acquire() as conn:
                conn.add_query_logger(lambda record: seen.append(record.query))
            await deliver(pool, cache, *msgs)
        finally:
            await pool.close()
        return len(seen)

    await statements(scored("w0", 70))  # the stages' ranges generated and saved
    await statements(scored("w1", 70))  # and the saved stages cached
    small = await statements(*(scored(f"a{i}", 70 + i) for i in range(2)))
    big = await statements(*(scored(f"b{i}", 70 + i % 2) for i in range(20)))
    assert big == small
    assert len(await activities(clean_db, "b19")) == 1
    assert (await state(clean_db, "b19"))["stage"] == "Negotiation"


async def test_stage_edits_are_noticed_without_a_restart(clean_db, pipeline_id):
    cache = PipelineCache()
    await deliver(clean_db, cache, scored("u1", 45))
    assert (await state(clean_db, "u1"))["stage"] == "Qualified"
    await clean_db.execute(
        "UPDATE stages SET lead_score_min = 40, lead_score_max = 80 WHERE name = 'Negotiation'"
    )
    await clean_db.execute(
        "UPDATE stages SET lead_score_min = 31, lead_score_max = 39 WHERE name = 'Qualified'"
    )
    await deliver(clean_db, cache, scored("u1", 45, at=1))
    assert (await state(clean_db, "u1"))["stage"] == "Negotiation"


async def sequential_result(pool: asyncpg.Pool, older: ContactScored, newer: ContactScored):
    await deliver(pool, PipelineCache(), older)
    await deliver(pool, PipelineCache(), newer)


@pytest.mark.parametrize("newer_first", [False, True])
async def test_concurrent_analyses_of_one_contact_equal_in_order_processing(
    clean_db, pipeline_id, database_url, newer_first
):
    """Two processes (two pools) get an older and a newer analysis of the same contacts at once."""
    from shared import db

    pools = [await db.create_pool(database_url, min_size=2, max_size=4) for _ in range(2)]
    try:
        n = 25
        pairs = [
            (scored(f"c{i}", 20 + i, "CONTACTED", at=1), scored(f"c{i}", 60 + i, at=2)) for i in range(n)
        ]
        # The reference: each pair processed one after the other in analyzed_through order.
        for older, newer in pairs:
            ref = older.model_copy(update={"contact_id": "ref" + older.contact_id})
            await sequential_result(clean_db, ref, newer.model_copy(update={"contact_id": ref.contact_id}))
        caches = [PipelineCache(), PipelineCache()]
        for older, newer in pairs:
            first, second = (newer, older) if newer_first else (older, newer)
            await asyncio.gather(deliver(pools[0], caches[0], first), deliver(pools[1], caches[1], second))
        for older, _ in pairs:
            got = await state(clean_db, older.contact_id)
            want = await state(clean_db, "ref" + older.contact_id)
            assert (got["lead_score"], got["stage"], got["analyzed_through"]) == (
                want["lead_score"],
                want["stage"],
                want["analyzed_through"],
            )
            final = [a["to_stage"] for a in await activities(clean_db, older.contact_id)][-1]
            assert final == want["stage"]
        # Never two placements of a contact from nowhere (a lost update would show as two).
        assert (
            await clean_db.fetchval(
                "SELECT count(*) FROM activities WHERE from_stage_id IS NULL AND type = 'STAGE_CHANGED'"
            )
            == 2 * n
        )
    finally:
        for p in pools:
            await p.close()


@pytest.mark.parametrize("job_id", ["not-a-uuid", "6c4d0c3e-8d8e-4a51-9d57-000000000000"])
async def test_a_job_that_does_not_exist_is_a_permanent_error(clean_db, pipeline_id, job_id):
    from shared.errors import PermanentError

    with pytest.raises(PermanentError, match="does not exist"):
        await deliver(clean_db, PipelineCache(), scored("u1", 50, job_id=job_id))
    assert await clean_db.fetchval("SELECT count(*) FROM contacts") == 0  # rolled back as a whole


async def test_crossing_batches_from_two_processes_neither_deadlock_nor_lose_updates(
    clean_db, pipeline_id, database_url
):
    """Batch 1 holds (a old, b new), batch 2 (b old, a new): both settle, newest analyses win."""
    from shared import db

    pools = [await db.create_pool(database_url, min_size=1, max_size=2) for _ in range(2)]
    try:
        for round_ in range(15):
            a, b = f"a{round_}", f"b{round_}"
            await asyncio.gather(
                deliver(pools[0], PipelineCache(), scored(a, 10, at=1), scored(b, 70, at=2)),
                deliver(pools[1], PipelineCache(), scored(b, 10, at=1), scored(a, 70, at=2)),
            )
            for contact in (a, b):
                row = await state(clean_db, contact)
                assert (row["lead_score"], row["stage"]) == (70, "Negotiation")
    finally:
        for p in pools:
            await p.close()
