"""Job bookkeeping on the real database: one active job per page, one worker per job, the scheduler."""

from __future__ import annotations

import asyncio

import pytest

from services.backfill import repository, scheduler
from services.backfill.repository import Item
from shared import job_records
from tests.support import secrets as test_secrets
from tests.support.backfill import add_page

KEY = test_secrets.FERNET_KEY


async def create(pool, page_id, kind="FULL"):
    async with pool.acquire() as conn:
        return await job_records.create(conn, page_id, kind)


async def test_racing_requests_make_exactly_one_active_job_per_page(clean_db):
    await add_page(clean_db, KEY, "PJ", "EAAjobstesttoken0123456789abcdefgh")
    results = await asyncio.gather(*(create(clean_db, "PJ") for _ in range(8)))
    assert sum(created for _, created in results) == 1
    assert len({job["id"] for job, _ in results}) == 1
    assert await clean_db.fetchval("SELECT count(*) FROM jobs") == 1


async def test_only_one_worker_claims_a_job_and_a_stale_one_is_taken_over(clean_db):
    await add_page(clean_db, KEY, "PJ", "EAAjobstesttoken0123456789abcdefgh")
    job, _ = await create(clean_db, "PJ")
    claims = await asyncio.gather(*(repository.claim(clean_db, job["id"], f"w{i}", 30) for i in range(6)))
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    owner = winners[0]["claimed_by"]
    assert await repository.claim(clean_db, job["id"], "late", 30) is None
    await clean_db.execute("UPDATE jobs SET heartbeat_at = now() - interval '1 minute'")
    assert (await repository.claim(clean_db, job["id"], "rescuer", 30))["claimed_by"] == "rescuer"
    # The old owner finds out at its next write and writes nothing.
    assert await repository.beat(clean_db, job["id"], owner) is False
    with pytest.raises(repository.ClaimLost):
        await repository.record(clean_db, job["id"], owner, {"after": "x"}, [Item("messenger", "U1")])
    assert await clean_db.fetchval("SELECT count(*) FROM job_enumerated") == 0
    assert await repository.claim(clean_db, "not-a-uuid", "w", 30) is None


async def test_a_page_walked_twice_counts_its_conversations_once(clean_db):
    await add_page(clean_db, KEY, "PJ", "EAAjobstesttoken0123456789abcdefgh")
    job, _ = await create(clean_db, "PJ")
    await repository.claim(clean_db, job["id"], "w", 30)
    items = [Item("messenger", "U1"), Item("messenger", "U2"), Item("instagram", "U1"),
             Item("messenger", "U3", "FAILED", "boom", 100)]
    await repository.record(clean_db, job["id"], "w", {"after": "a"}, items)
    await repository.record(clean_db, job["id"], "w", {"after": "a"}, items)  # a resumed walk
    assert await repository.finish_enumeration(clean_db, job["id"], "w") is False
    row = await clean_db.fetchrow("SELECT * FROM jobs")
    assert (row["total_contacts"], row["failed_contacts"], row["enumeration_done"]) == (4, 1, True)
    assert row["errors"] == [{"platform": "messenger", "id": "U3", "error": "boom", "code": 100}]


async def test_a_job_with_no_conversations_completes_at_once(clean_db):
    await add_page(clean_db, KEY, "PJ", "EAAjobstesttoken0123456789abcdefgh")
    job, _ = await create(clean_db, "PJ")
    await repository.claim(clean_db, job["id"], "w", 30)
    assert await repository.finish_enumeration(clean_db, job["id"], "w") is True
    row = await clean_db.fetchrow("SELECT j.*, p.last_synced_at FROM jobs j JOIN pages p ON p.id = j.page_id")
    assert row["status"] == "COMPLETED" and row["total_contacts"] == 0
    assert row["last_synced_at"] == row["started_at"]


async def test_scheduler_starts_due_syncs_once_and_hands_out_stale_jobs_once(clean_db, publisher):
    for page_id, extra in {
        "DUE": {"sync_interval_s": 3600},
        "FRESH": {},
        "OFF": {"auto_sync": False},
        "EXPIRED": {"token_status": "expired"},
        "NEVER": {},
        "BUSY": {},
    }.items():
        await add_page(clean_db, KEY, page_id, "EAAschedulertoken0123456789abcdef", **extra)
    await clean_db.execute("UPDATE pages SET last_synced_at = now() - interval '2 hours' "
                           "WHERE id IN ('DUE', 'OFF', 'EXPIRED', 'BUSY')")
    await clean_db.execute(
        "UPDATE pages SET last_synced_at = now() - interval '5 minutes' WHERE id = 'FRESH'")
    busy, _ = await create(clean_db, "BUSY")
    await repository.claim(clean_db, busy["id"], "dead-worker", 30)
    await clean_db.execute("UPDATE jobs SET heartbeat_at = now() - interval '1 minute', "
                           "updated_at = now() - interval '1 minute'")
    rounds = await asyncio.gather(*(scheduler.tick(clean_db, publisher, stale_after_s=30) for _ in range(3)))
    requested = [j for r in rounds for j in r]
    jobs = await clean_db.fetch("SELECT page_id, kind, status FROM jobs ORDER BY page_id")
    assert [(j["page_id"], j["kind"]) for j in jobs] == [("BUSY", "FULL"), ("DUE", "INCREMENTAL")]
    assert sorted(requested) == sorted([busy["id"], *(str(j["id"]) for j in await clean_db.fetch(
        "SELECT id FROM jobs WHERE page_id = 'DUE'"))])
    assert await scheduler.tick(clean_db, publisher, stale_after_s=30) == []
