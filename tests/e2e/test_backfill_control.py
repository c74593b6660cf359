"""Backfill jobs under control end to end: cancel, an expired token, retry, incremental syncs."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from leadsync.sim.graph import SimGraph, serving
from shared.messages import ChatMessage, ConversationUpdated
from tests.support import secrets as test_secrets
from tests.support.backfill import add_page, api, wait_job, wait_total_contacts
from tests.support.stack import running

TOKEN = "EAAcontroltesttoken0123456789abcdefQRS"


def graph_env(url: str, **extra: str) -> dict[str, str]:
    return {
        "GRAPH_API_BASE_URL": url,
        "GRAPH_CALLS_PER_SECOND": "20",
        "BACKFILL_PAGE_SIZE": "4",
        "BACKFILL_HEARTBEAT_S": "0.2",
        "BACKFILL_SCHEDULER_INTERVAL_S": "0.3",
        **extra,
    }


async def test_cancel_stops_graph_calls_within_a_second(clean_db, service_env, publisher):
    sim = SimGraph(latency=0.1, app_secret=test_secrets.APP_SECRET)
    sim.add_page("PC", TOKEN, messenger=80, instagram=20, instagram_account_id="IGC")
    await add_page(clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PC", TOKEN, instagram="IGC")
    async with (
        serving(sim) as url,
        running(service_env, extra_env=graph_env(url, GRAPH_CALLS_PER_SECOND="4")) as stack,
        api(stack.url, service_env) as client,
    ):
        job_id = (await client.post("/api/backfill", json={"page_id": "PC"})).json()["job_id"]
        await wait_total_contacts(clean_db, job_id, 8, poll=0.05)
        r = await client.post(f"/api/jobs/{job_id}/cancel")
        cancelled_at = time.monotonic()
        assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
        # Items of the job still queued when it was cancelled are dropped, not analysed.
        queued = [
            ConversationUpdated(
                page_id="PC",
                platform="messenger",
                contact_id=f"queued{i}",
                origin="backfill",
                job_id=job_id,
                messages=[ChatMessage(mid=f"m_queued{i}", text="price?", sent_at=datetime.now(UTC))],
            )
            for i in range(3)
        ]
        await publisher.publish_many([(m, None) for m in queued])
        await asyncio.sleep(2.0)
        again = await client.post(f"/api/jobs/{job_id}/cancel")
        job = await clean_db.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id)
    assert again.status_code == 200 and again.json()["status"] == "CANCELLED"  # idempotent
    assert job["status"] == "CANCELLED" and not job["enumeration_done"]
    late = [t for t in sim.call_times if t > cancelled_at + 1.0]
    assert late == [], f"{len(late)} Graph calls more than 1 s after the cancel"
    assert job["total_contacts"] < 100
    # Progress never runs past the total: items are counted before they are published.
    assert job["synced_contacts"] + job["failed_contacts"] <= job["total_contacts"]
    assert await clean_db.fetchval("SELECT count(*) FROM contacts WHERE external_id LIKE 'queued%'") == 0


async def test_expired_token_fails_the_job_and_a_replaced_token_syncs_again(clean_db, service_env):
    sim = SimGraph(app_secret=test_secrets.APP_SECRET)
    sim.add_page("PT", TOKEN, messenger=10)
    sim.expired_tokens.add(TOKEN)
    await add_page(clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PT", TOKEN)
    async with (
        serving(sim) as url,
        running(service_env, extra_env=graph_env(url)) as stack,
        api(stack.url, service_env) as client,
    ):
        job_id = (await client.post("/api/backfill", json={"page_id": "PT"})).json()["job_id"]
        failed = await wait_job(clean_db, job_id, ("FAILED",))
        refused = await client.post("/api/backfill", json={"page_id": "PT"})
        # The owner reconnects the page (the pages API sets token_status back to ok).
        sim.expired_tokens.clear()
        await clean_db.execute("UPDATE pages SET token_status = 'ok' WHERE id = 'PT'")
        retry = await client.post("/api/backfill", json={"page_id": "PT"})
        done = await wait_job(clean_db, retry.json()["job_id"])
        logs = stack.logs()
    assert failed["token_expired"] is True
    assert "190/463" in failed["error"] and "reconnect" in failed["error"]
    assert refused.status_code == 409 and "access token" in refused.json()["error"]
    assert done["synced_contacts"] == 10 and done["total_contacts"] == 10
    assert await clean_db.fetchval("SELECT token_status FROM pages WHERE id = 'PT'") == "ok"
    assert TOKEN not in logs


async def test_retry_runs_only_the_failed_items(clean_db, service_env):
    sim = SimGraph(app_secret=test_secrets.APP_SECRET)
    sim.add_page("PR", TOKEN, messenger=6, instagram=3, instagram_account_id="IGR")
    broken = [sim.pages["PR"].conversations["messenger"][2], sim.pages["PR"].conversations["instagram"][1]]
    sim.failing.update(c.id for c in broken)
    await add_page(clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PR", TOKEN, instagram="IGR")
    async with (
        serving(sim) as url,
        running(service_env, extra_env=graph_env(url)) as stack,
        api(stack.url, service_env) as client,
    ):
        job_id = (await client.post("/api/backfill", json={"page_id": "PR"})).json()["job_id"]
        first = await wait_job(clean_db, job_id)
        sim.failing.discard(broken[0].id)  # one is readable again, the other still is not
        r = await client.post(f"/api/jobs/{job_id}/retry")
        retried = await wait_job(clean_db, r.json()["job_id"])
        nothing = await client.post(f"/api/jobs/{retried['id']}/retry")
        ended = await client.post(f"/api/jobs/{job_id}/cancel")
    assert (first["synced_contacts"], first["failed_contacts"], first["total_contacts"]) == (7, 2, 9)
    assert r.status_code == 202 and r.json()["kind"] == "RETRY" and r.json()["retry_of"] == job_id
    assert (retried["synced_contacts"], retried["failed_contacts"], retried["total_contacts"]) == (1, 1, 2)
    assert [e["id"] for e in retried["errors"]] == [broken[1].customer_id]
    assert nothing.status_code == 202 and nothing.json()["retry_of"] == str(retried["id"])
    assert ended.status_code == 409 and "COMPLETED" in ended.json()["error"]
    contacts = await clean_db.fetchval("SELECT count(*) FROM contacts WHERE page_id = 'PR'")
    assert contacts == 8


async def test_incremental_syncs_take_only_newer_conversations(clean_db, service_env):
    sim = SimGraph(app_secret=test_secrets.APP_SECRET)
    sim.add_page("PI", TOKEN, messenger=15, instagram=8, instagram_account_id="IGI")
    await add_page(
        clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PI", TOKEN, instagram="IGI", sync_interval_s=60
    )
    async with (
        serving(sim) as url,
        running(service_env, extra_env=graph_env(url)) as stack,
        api(stack.url, service_env) as client,
    ):
        full = (await client.post("/api/backfill", json={"page_id": "PI"})).json()["job_id"]
        assert (await wait_job(clean_db, full))["total_contacts"] == 23
        # Two customers write again and one new customer writes.
        touched = sim.touch("PI", "messenger", index=6)
        sim.touch("PI", "instagram", new=True)
        listed = sim.calls["conversations"]
        # The scheduler starts the next sync once the page's interval has passed.
        await clean_db.execute("UPDATE pages SET last_synced_at = now() - interval '61 seconds'")
        await clean_db.execute("UPDATE jobs SET created_at = now() - interval '1 hour'")
        scheduled = await clean_db.fetchrow("SELECT * FROM jobs WHERE kind = 'INCREMENTAL'")
        while scheduled is None:
            await asyncio.sleep(0.1)
            scheduled = await clean_db.fetchrow("SELECT * FROM jobs WHERE kind = 'INCREMENTAL'")
        auto = await wait_job(clean_db, str(scheduled["id"]))
        auto_calls = sim.calls["conversations"] - listed
        # And on request, for a message written after the (moved) last sync.
        await clean_db.execute("UPDATE pages SET last_synced_at = now() + interval '5 minutes'")
        sim.touch("PI", "messenger", index=10, at=datetime.now(UTC) + timedelta(minutes=10))
        r = await client.post("/api/backfill", json={"page_id": "PI", "mode": "incremental"})
        manual = await wait_job(clean_db, r.json()["job_id"])
    assert (auto["total_contacts"], auto["synced_contacts"]) == (2, 2)
    assert auto_calls == 2  # one list call per platform: the walk stopped at the first older thread
    assert manual["kind"] == "INCREMENTAL" and manual["total_contacts"] == 1
    text = await clean_db.fetchval(
        "SELECT text FROM messages WHERE contact_external_id = $1 ORDER BY sent_at DESC LIMIT 1",
        touched.customer_id,
    )
    assert text == "Is it still available? I want to order now"
