"""Pages nobody connected (DESIGN §2): their live events are stored, counted and not analysed;
connecting the page analyses them through its first backfill. Signed webhooks against
`leadsync run`, the simulated Meta holding the same threads."""

from __future__ import annotations

import asyncio
import functools
import time

import httpx

from leadsync.sim.graph import SimGraph
from services.webhook.signature import sign
from tests.support.backfill import wait_job
from tests.support.connect import USER, connected_stack
from tests.support.eventually import eventually
from tests.support.meta_events import messenger_event
from tests.support.metrics import service_samples


async def _customer_writes(
    stack, sim: SimGraph, page_id: str, secret: str, *, new: bool, text: str
) -> tuple[str, str]:
    """The customer writes in Meta (the simulator) and Meta delivers it: (contact, mid)."""
    conv = sim.touch(page_id, "messenger", new=new, text=text)
    mid = f"m_{conv.id}_{len(conv.turns) - 1}"
    body = messenger_event(page_id, conv.customer_id, mid, text, int(time.time() * 1000))
    async with httpx.AsyncClient() as client:
        r = await client.post(
            f"{stack.url}/webhooks/meta",
            content=body,
            headers={"X-Hub-Signature-256": sign(body, secret.encode()), "Content-Type": "application/json"},
        )
    assert r.status_code == 200, r.text
    return conv.customer_id, mid


async def _unconnected(logs: str) -> dict[str, float]:
    _, samples = await service_samples(logs, "analyzer")
    return {s.labels["reason"]: s.value for s in samples if s.name == "leadsync_unconnected_events_total"}


async def _counted(stack, reason: str, at_least: float, timeout: float = 20) -> None:
    async def counted() -> bool:
        return (await _unconnected(stack.logs())).get(reason, 0) >= at_least

    await eventually(
        counted,
        what=f"{at_least:g} {reason} events counted",
        timeout=timeout,
        detail=lambda: stack.logs()[-3000:],
    )


async def _scored_once(pool, page_id: str, contact: str) -> bool:
    return (await _scored(pool, page_id, contact))[0] > 0


async def _scored(pool, page_id: str, contact: str) -> tuple[int, int]:
    placed = await pool.fetchval(
        "SELECT count(*) FROM contacts WHERE page_id = $1 AND external_id = $2 AND lead_score IS NOT NULL",
        page_id,
        contact,
    )
    ledger = await pool.fetchval(
        "SELECT count(*) FROM scores s JOIN contacts c ON c.id = s.contact_id "
        "WHERE c.page_id = $1 AND c.external_id = $2",
        page_id,
        contact,
    )
    return placed, ledger


async def test_events_of_pages_not_connected_are_stored_not_analysed_until_connected(clean_db, service_env):
    secret = service_env["META_APP_SECRET"]
    async with connected_stack(service_env, ANALYZER_DEBOUNCE_S="0.1") as (sim, stack, client):
        token = sim.meta.user_token(USER)
        # 201 is connected (its first backfill placed its threads), then disconnected.
        r = await client.post("/api/connect", json={"user_access_token": token, "page_ids": ["201"]})
        await wait_job(clean_db, r.json()["jobs"]["201"])
        assert (await client.post("/api/pages/201/disconnect", json={})).status_code == 200

        # 203 has no row in pages; 201 is disconnected: both are stored, neither analysed.
        unknown, unknown_mid = await _customer_writes(
            stack, sim, "203", secret, new=False, text="How much is delivery? I want two"
        )
        gone, gone_mid = await _customer_writes(
            stack, sim, "201", secret, new=True, text="Hello, is the big one in stock?"
        )
        await _counted(stack, "unknown", 1)
        await _counted(stack, "disconnected", 1)
        await asyncio.sleep(1.0)  # a debounced analysis would be done by now
        for page_id, contact, mid in (("203", unknown, unknown_mid), ("201", gone, gone_mid)):
            assert (
                await clean_db.fetchval(
                    "SELECT count(*) FROM messages WHERE mid = $1 AND page_id = $2", mid, page_id
                )
                == 1
            )
            assert await _scored(clean_db, page_id, contact) == (0, 0)
        assert await clean_db.fetchval("SELECT count(*) FROM contacts WHERE page_id = '203'") == 0

        # Connecting (and reconnecting) the pages: their first backfill analyses those threads.
        r = await client.post("/api/connect", json={"user_access_token": token, "page_ids": ["201", "203"]})
        assert r.json()["connected"] == ["201", "203"], r.text
        for job_id in r.json()["jobs"].values():
            await wait_job(clean_db, job_id)
        for page_id, contact in (("203", unknown), ("201", gone)):
            await eventually(
                functools.partial(_scored_once, clean_db, page_id, contact),
                what=f"{contact} scored",
                timeout=20,
                detail=lambda: stack.logs()[-3000:],
            )
        # The analysis covered the message the webhook stored while the page was not connected.
        last = await clean_db.fetchval(
            "SELECT max(sent_at) FROM messages WHERE page_id = '203' AND contact_external_id = $1", unknown
        )
        through = await clean_db.fetchval(
            "SELECT analyzed_through FROM analyzer_conversations WHERE page_id = '203' "
            "AND contact_external_id = $1",
            unknown,
        )
        assert through == last

        # Connected now: a live event is analysed at once, and counted as nothing else.
        before = await _unconnected(stack.logs())
        again, _ = await _customer_writes(stack, sim, "203", secret, new=True, text="price please?")
        await eventually(
            functools.partial(_scored_once, clean_db, "203", again),
            what=f"{again} scored",
            timeout=40,
            detail=lambda: stack.logs()[-3000:],
        )
        assert await _unconnected(stack.logs()) == before
