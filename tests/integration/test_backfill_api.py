"""The jobs endpoints of the admin API: clear answers to wrong requests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.admin_api import admin_client
from tests.support.backfill import add_page


@pytest.fixture
async def client(clean_db, publisher, service_env) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_client(service_env, clean_db, publisher) as c:
        yield c


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"page_id": "NOPE"}, 404, "page 'NOPE' not found"),
        ({"page_id": "PA", "mode": "partial"}, 422, "mode: "),
        ({"mode": "full"}, 422, "page_id: "),
        ({"page_id": "PA", "extra": 1}, 422, "extra: "),
        ({"page_id": "NOTOKEN"}, 409, "needs a valid access token"),
    ],
)
async def test_bad_backfill_requests_are_refused_clearly(client, clean_db, service_env, body, status, error):
    await add_page(clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PA", "EAAapitesttoken0123456789abcdefgh")
    await clean_db.execute("INSERT INTO pages (id, name) VALUES ('NOTOKEN', 'No token')")
    r = await client.post("/api/backfill", json=body)
    assert r.status_code == status and error in r.json()["error"]
    assert await clean_db.fetchval("SELECT count(*) FROM jobs") == 0


async def test_unknown_jobs_and_pages_are_404(client):
    for method, path in [
        ("GET", "/api/jobs/not-a-uuid"),
        ("GET", "/api/jobs/00000000-0000-0000-0000-000000000000"),
        ("POST", "/api/jobs/00000000-0000-0000-0000-000000000000/cancel"),
        ("POST", "/api/jobs/00000000-0000-0000-0000-000000000000/retry"),
        ("GET", "/api/pages/NOPE/jobs"),
    ]:
        r = await client.request(method, path)
        assert r.status_code == 404 and "not found" in r.json()["error"], path


async def test_a_pending_job_can_be_read_listed_and_cancelled_but_not_retried(client, clean_db, service_env):
    await add_page(clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PA", "EAAapitesttoken0123456789abcdefgh")
    r = await client.post("/api/backfill", json={"page_id": "PA", "mode": "incremental"})
    assert r.status_code == 202
    job = r.json()
    assert (job["status"], job["kind"], job["percent"]) == ("PENDING", "INCREMENTAL", 0.0)
    assert (await client.post(f"/api/jobs/{job['job_id']}/retry")).status_code == 409
    assert (await client.get(f"/api/jobs/{job['job_id']}")).json()["id"] == job["job_id"]
    assert (await client.get("/api/pages/PA/jobs?limit=0")).status_code == 422
    cancelled = await client.post(f"/api/jobs/{job['job_id']}/cancel")
    assert cancelled.json()["status"] == "CANCELLED" and cancelled.json()["completed_at"]
    assert (await client.post("/api/backfill", json={"page_id": "PA"})).status_code == 202
    listed = (await client.get("/api/pages/PA/jobs")).json()["jobs"]
    assert [j["status"] for j in listed] == ["PENDING", "CANCELLED"]


async def test_a_job_without_failed_items_has_nothing_to_retry(client, clean_db, service_env):
    await add_page(clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PA", "EAAapitesttoken0123456789abcdefgh")
    job_id = str(
        await clean_db.fetchval(
            "INSERT INTO jobs (page_id, kind, status, total_contacts, synced_contacts, enumeration_done) "
            "VALUES ('PA', 'FULL', 'COMPLETED', 3, 3, true) RETURNING id"
        )
    )
    r = await client.post(f"/api/jobs/{job_id}/retry")
    assert r.status_code == 409 and r.json()["error"] == "job has no failed items to retry"
