"""Backfill end to end: `leadsync run` against the simulated Graph API on loopback."""

from __future__ import annotations

import asyncio

from leadsync.sim.graph import SimGraph, serving
from tests.support import secrets as test_secrets
from tests.support.backfill import add_page, api, item_counts, wait_job
from tests.support.pipelines import SHORT, new_pipeline
from tests.support.stack import running

TOKENS = {"PG1": "EAApageonetoken0123456789abcdefXYZ", "PG2": "EAApagetwotoken0123456789abcdefXYZ"}


def graph_env(url: str, **extra: str) -> dict[str, str]:
    return {"GRAPH_API_BASE_URL": url, "GRAPH_CALLS_PER_SECOND": "20", "BACKFILL_PAGE_SIZE": "5", **extra}


async def test_full_backfill_of_two_pages_on_both_platforms_completes_exactly(clean_db, service_env):
    sim = SimGraph(latency=0.1, rate_limit=20, app_secret=test_secrets.APP_SECRET)
    sim.add_page("PG1", TOKENS["PG1"], messenger=12, instagram=7, instagram_account_id="IG1", long_every=5)
    sim.add_page("PG2", TOKENS["PG2"], messenger=9, instagram=5, instagram_account_id="IG2")
    broken = sim.pages["PG2"].conversations["messenger"][3]
    sim.failing.add(broken.id)
    key = service_env["TOKEN_ENCRYPTION_KEY"]
    await add_page(clean_db, key, "PG1", TOKENS["PG1"], instagram="IG1")
    await add_page(clean_db, key, "PG2", TOKENS["PG2"], instagram="IG2")
    async with (
        serving(sim) as url,
        running(service_env, extra_env=graph_env(url)) as stack,
        api(stack.url, service_env) as client,
    ):
        pipeline_id = await new_pipeline(client, SHORT)
        for page in TOKENS:
            r = await client.patch(f"/api/pages/{page}", json={"auto_pipeline_id": pipeline_id})
            assert r.status_code == 200, r.text
        first = await client.post("/api/backfill", json={"page_id": "PG1", "mode": "full"})
        second = await client.post("/api/backfill", json={"page_id": "PG2"})
        assert first.status_code == 202 and second.status_code == 202, first.text
        again = await client.post("/api/backfill", json={"page_id": "PG1", "mode": "full"})
        assert again.status_code == 200 and again.json()["job_id"] == first.json()["job_id"]
        jobs = {"PG1": first.json()["job_id"], "PG2": second.json()["job_id"]}

        # While it runs, the dashboard view shows progress, a rate and an ETA. A job whose
        # enumerated items are all settled reads 100 % until its walk ends: wait for a view
        # part-way through.
        seen_running = None
        while seen_running is None:
            row = await clean_db.fetchrow("SELECT * FROM job_progress WHERE id = $1::uuid", jobs["PG1"])
            if row["status"] == "COMPLETED":
                break
            if row["status"] == "IN_PROGRESS" and row["eta_s"] is not None and row["percent"] < 100:
                seen_running = row
            await asyncio.sleep(0.02)
        assert seen_running is not None, "job finished before any progress could be seen"
        assert 0 < seen_running["percent"] < 100 and seen_running["items_per_s"] > 0

        done = {p: await wait_job(clean_db, j) for p, j in jobs.items()}
        shown = (await client.get(f"/api/jobs/{jobs['PG2']}")).json()
        history = (await client.get("/api/pages/PG1/jobs")).json()["jobs"]
        logs = stack.logs()

    assert done["PG1"]["total_contacts"] == 19 and done["PG2"]["total_contacts"] == 14
    for page, job in done.items():
        counts = await item_counts(clean_db, str(job["id"]))
        assert job["synced_contacts"] == counts.get("SYNCED", 0)
        assert job["failed_contacts"] == counts.get("FAILED", 0)
        assert sum(counts.values()) == job["total_contacts"]
        found = await clean_db.fetchval("SELECT count(*) FROM contacts WHERE page_id = $1", page)
        assert found == job["synced_contacts"]
        # Every synced contact sits in a stage of the page's auto pipeline.
        placed = await clean_db.fetchval(
            "SELECT count(*) FROM contacts c JOIN stages s ON s.id = c.stage_id"
            " JOIN pages p ON p.id = c.page_id AND p.auto_pipeline_id = s.pipeline_id"
            " WHERE c.page_id = $1",
            page,
        )
        assert placed == job["synced_contacts"]
        last = await clean_db.fetchval("SELECT last_synced_at FROM pages WHERE id = $1", page)
        assert last == job["started_at"]
    assert done["PG1"]["failed_contacts"] == 0
    assert shown["failed_contacts"] == 1 and shown["percent"] == 100.0
    assert shown["errors"] == [
        {"platform": "messenger", "id": broken.customer_id, "error": shown["errors"][0]["error"], "code": 100}
    ]
    assert [j["id"] for j in history] == [jobs["PG1"]]
    # Names come from the participants; long threads arrive whole (45 messages, 2 calls).
    conv = sim.pages["PG1"].conversations["messenger"][1]
    name = await clean_db.fetchval("SELECT name FROM contacts WHERE external_id = $1", conv.customer_id)
    assert name == conv.customer_name
    stored = await clean_db.fetchval(
        "SELECT count(*) FROM messages WHERE contact_external_id = $1", conv.customer_id
    )
    assert stored == 45
    assert sim.rate_limited == 0
    for token in TOKENS.values():
        assert token not in logs and token not in str(shown)
