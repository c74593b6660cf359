"""A backfill worker killed with SIGKILL mid-job: another one resumes from the cursor, exactly."""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile

from leadsync.sim.graph import SimGraph, serving
from tests.support import secrets as test_secrets
from tests.support.backfill import add_page, api, item_counts, wait_job, wait_total_contacts
from tests.support.eventually import eventually
from tests.support.stack import running

TOKEN = "EAAcrashtesttoken0123456789abcdefKLM"


def _backfill_env(
    service_env: dict[str, str], url: str, *, calls_per_second: str, stale_after_s: str
) -> dict[str, str]:
    """Small Graph pages, a fast heartbeat and scheduler: a crash or an outage shows within seconds."""
    return {
        **service_env,
        "GRAPH_API_BASE_URL": url,
        "GRAPH_CALLS_PER_SECOND": calls_per_second,
        "BACKFILL_PAGE_SIZE": "4",
        "BACKFILL_HEARTBEAT_S": "0.2",
        "BACKFILL_STALE_AFTER_S": stale_after_s,
        "BACKFILL_SCHEDULER_INTERVAL_S": "0.3",
    }


async def test_killed_worker_job_resumes_from_its_cursor_and_completes_exactly(clean_db, service_env):
    sim = SimGraph(latency=0.05, app_secret=test_secrets.APP_SECRET)
    sim.add_page("PK", TOKEN, messenger=40, instagram=12, instagram_account_id="IGK")
    await add_page(clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PK", TOKEN, instagram="IGK")
    async with serving(sim) as url:
        env = _backfill_env(service_env, url, calls_per_second="5", stale_after_s="1.5")
        async with running(env, "webhook", "analyzer", "assigner") as stack, api(stack.url, env) as client:
            with tempfile.TemporaryFile() as out:
                doomed = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "services.backfill", env=env, stdout=out, stderr=out
                )
                job_id = (await client.post("/api/backfill", json={"page_id": "PK"})).json()["job_id"]
                await wait_total_contacts(clean_db, job_id, 12, poll=0.02)
                doomed.send_signal(signal.SIGKILL)
                await doomed.wait()
            listed_before = sim.calls["conversations"]
            before = await clean_db.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id)
            assert before["status"] == "IN_PROGRESS" and not before["enumeration_done"]
            async with running(env, "backfill"):
                done = await wait_job(clean_db, job_id)
    listed_after = sim.calls["conversations"] - listed_before
    counts = await item_counts(clean_db, job_id)
    assert done["total_contacts"] == 52
    assert counts == {"SYNCED": 52}
    assert done["synced_contacts"] == 52 and done["failed_contacts"] == 0
    assert await clean_db.fetchval("SELECT count(*) FROM contacts WHERE page_id = 'PK'") == 52
    # The new worker went on from the saved cursor instead of starting over (13 pages in all).
    assert listed_after <= 13 - before["total_contacts"] // 4 + 2  # + a page per platform in flight
    assert done["claimed_by"] != before["claimed_by"]


async def test_a_graph_outage_pauses_the_job_and_it_resumes_from_its_cursor(clean_db, service_env):
    sim = SimGraph(app_secret=test_secrets.APP_SECRET)
    sim.add_page("PO", TOKEN, messenger=20)
    await add_page(clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PO", TOKEN)
    async with serving(sim) as url:
        env = _backfill_env(service_env, url, calls_per_second="20", stale_after_s="1")
        async with running(env) as stack, api(stack.url, env) as client:
            sim.down = True
            job_id = (await client.post("/api/backfill", json={"page_id": "PO"})).json()["job_id"]
            await eventually(lambda: "job.interrupted" in stack.logs(), what="the job interrupted")
            paused = await clean_db.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id)
            sim.down = False
            done = await wait_job(clean_db, job_id)
    assert paused["status"] == "IN_PROGRESS"  # not failed: nothing accepted is lost
    assert (done["total_contacts"], done["synced_contacts"], done["failed_contacts"]) == (20, 20, 0)
