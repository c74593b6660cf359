"""Settling a batch of job items in one statement (issue 15): counts and errors stay exact."""

from __future__ import annotations

from shared import job_admin
from shared import settlement as jobs
from shared.settlement import Settlement


async def _job(pool, total: int) -> str:
    await pool.execute("INSERT INTO pages (id, name) VALUES ('PB', 'Batch shop')")
    async with pool.acquire() as conn:
        job, _ = await job_admin.create(conn, "PB", "FULL")
    await pool.execute(
        "UPDATE jobs SET status = 'IN_PROGRESS', enumeration_done = true, total_contacts = $2 "
        "WHERE id = $1::uuid",
        job["id"],
        total,
    )
    return job["id"]


async def test_a_batch_counts_each_item_once_and_keeps_its_errors_in_order(clean_db):
    job_id = await _job(clean_db, 6)
    first = [
        Settlement("messenger", "A", "SYNCED", detail={"move": "up"}),
        Settlement("messenger", "B", "FAILED", "gone", 100),
        Settlement("messenger", "B", "SYNCED"),  # the same item again: its first outcome counts
        Settlement("instagram", "C", "FAILED"),
    ]
    async with clean_db.acquire() as conn, conn.transaction():
        assert await jobs.settle_items(conn, job_id, first) == 3
    # Redelivered with two new items: only those count; the job completes with the last one.
    again = [*first, Settlement("instagram", "D", "SYNCED"), Settlement("instagram", "E", "FAILED", "x")]
    async with clean_db.acquire() as conn, conn.transaction():
        assert await jobs.settle_items(conn, job_id, again) == 2
        assert await jobs.settle_item(conn, job_id, "messenger", "A", "FAILED") is False
    row = await clean_db.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id)
    assert (row["synced_contacts"], row["failed_contacts"], row["errors_count"]) == (2, 3, 3)
    assert row["errors"] == [
        {"platform": "messenger", "id": "B", "error": "gone", "code": 100},
        {"platform": "instagram", "id": "C", "error": "failed"},
        {"platform": "instagram", "id": "E", "error": "x"},
    ]
    assert row["status"] == "IN_PROGRESS"  # 5 of 6 settled
    async with clean_db.acquire() as conn, conn.transaction():
        assert await jobs.settle_items(conn, job_id, [Settlement("instagram", "F", "SYNCED")]) == 1
    assert await clean_db.fetchval("SELECT status FROM jobs WHERE id = $1::uuid", job_id) == "COMPLETED"
    detail = await clean_db.fetchval(
        "SELECT detail FROM job_items WHERE job_id = $1::uuid AND contact_external_id = 'A'", job_id
    )
    assert detail == {"move": "up"}


async def test_a_batch_stops_appending_errors_at_the_cap_but_counts_them_all(clean_db):
    job_id = await _job(clean_db, 1000)
    await clean_db.execute(
        "UPDATE jobs SET errors_count = $2 WHERE id = $1::uuid", job_id, jobs.MAX_ERRORS - 2
    )
    batch = [Settlement("messenger", f"U{i}", "FAILED", f"e{i}") for i in range(5)]
    async with clean_db.acquire() as conn, conn.transaction():
        assert await jobs.settle_items(conn, job_id, batch) == 5
    row = await clean_db.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id)
    assert [e["id"] for e in row["errors"]] == ["U0", "U1"]
    assert (row["errors_count"], row["failed_contacts"]) == (jobs.MAX_ERRORS + 3, 5)
