"""A job with 20,000 failed items: jobs.errors keeps the first 100, job_items all, the API pages them."""

from __future__ import annotations

import asyncio

import pytest

from shared import job_admin, settlement
from tests.support.admin_api import admin_client

FAILED = 20_000


@pytest.fixture
async def api(clean_db, service_env, publisher):
    async with admin_client(service_env, clean_db, publisher) as client:
        yield client


async def settle_failures(pool, job_id: str, count: int, workers: int = 2, per_tx: int = 500) -> None:
    """Every item settled FAILED through the real settlement, by two concurrent consumers."""

    async def worker(n: int) -> None:
        async with pool.acquire() as conn:
            mine = list(range(n, count, workers))
            for start in range(0, len(mine), per_tx):
                async with conn.transaction():
                    for i in mine[start : start + per_tx]:
                        await settlement.settle_item(
                            conn,
                            job_id,
                            "messenger",
                            f"psid{i:05d}",
                            "FAILED",
                            error=f"Graph error 100 for psid{i:05d}",
                            code=100,
                        )

    await asyncio.gather(*(worker(n) for n in range(workers)))


async def test_20000_failed_items_keep_100_errors_and_all_items_paged_by_the_api(api, clean_db):
    await clean_db.execute("INSERT INTO pages (id, name) VALUES ('PF', 'Failing shop')")
    async with clean_db.acquire() as conn:
        job, _ = await job_admin.create(conn, "PF", "FULL")
    await clean_db.execute(
        "UPDATE jobs SET status = 'IN_PROGRESS', total_contacts = $2 WHERE id = $1::uuid",
        job["id"],
        FAILED + 1,
    )
    await settle_failures(clean_db, job["id"], FAILED)
    row = await clean_db.fetchrow(
        "SELECT jsonb_array_length(errors) AS kept, errors_count, failed_contacts FROM jobs "
        "WHERE id = $1::uuid",
        job["id"],
    )
    assert (row["kept"], row["errors_count"], row["failed_contacts"]) == (100, FAILED, FAILED)
    assert (
        await clean_db.fetchval("SELECT count(*) FROM job_items WHERE job_id = $1::uuid", job["id"]) == FAILED
    )

    shown = (await api.get(f"/api/jobs/{job['id']}")).json()
    assert len(shown["errors"]) == 100 and shown["errors_count"] == FAILED

    seen: list[str] = []
    cursor = None
    while True:
        params = {"outcome": "FAILED", "limit": "1000", **({"cursor": cursor} if cursor else {})}
        r = await api.get(f"/api/jobs/{job['id']}/items", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert all(
            i["outcome"] == "FAILED" and i["error"].startswith("Graph error 100") for i in body["items"]
        )
        seen += [i["contact_external_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == FAILED
    assert seen == sorted(seen)
    assert (await api.get(f"/api/jobs/{job['id']}/items", params={"outcome": "SYNCED"})).json() == {
        "items": [],
        "next_cursor": None,
    }
