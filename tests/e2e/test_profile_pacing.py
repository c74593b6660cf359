"""A burst of new customers writes to one page at once: their names are looked up at most
GRAPH_PROFILE_CALLS_PER_SECOND per second with the page's token (measured where Meta would
count them, at the simulated Graph API), once each, and every contact gets its name in the end.

`make test` runs the short form (LEADSYNC_PACING_SENDERS, default 1,000 senders); `make chaos` runs
the issue's 16,000-sender burst (`LEADSYNC_PACING_SENDERS=16000`, about 3 minutes on the 2-core
machine, where the whole pipeline scores them too). The limiter itself is shown to hold the rate where it is
the only brake in tests/integration/test_graph_profiles.py."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from leadsync.sim.graph import SimGraph, serving
from leadsync.sim.traffic import envelope, message_item
from services.webhook.signature import sign
from tests.support import secrets as test_secrets
from tests.support.backfill import add_page
from tests.support.stack import running

TOKEN = "EAApacingtoken0123456789abcdefghijkl"
SENDERS = int(os.environ.get("LEADSYNC_PACING_SENDERS", "1000"))
PER_DELIVERY = 1000  # Meta's largest batch
RATE = 400  # GRAPH_PROFILE_CALLS_PER_SECOND for this run (the default 10 would take 30 min)
TS = 1764028800000


async def counts(pool) -> tuple[int, int]:
    row = await pool.fetchrow(
        "SELECT count(*) FILTER (WHERE lead_score IS NOT NULL) AS scored, "
        "count(*) FILTER (WHERE name IS NOT NULL) AS named FROM contacts WHERE page_id = 'PB'"
    )
    return row["scored"], row["named"]


@pytest.mark.slow
async def test_a_burst_of_new_senders_is_paced_per_page_and_every_contact_is_named(clean_db, service_env):
    sim = SimGraph(app_secret=test_secrets.APP_SECRET)
    sim.add_page("PB", TOKEN)
    senders = [f"9{i:015d}" for i in range(SENDERS)]
    sim.profiles.update({s: f"Customer {i}" for i, s in enumerate(senders)})
    await add_page(clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PB", TOKEN)
    secret = service_env["META_APP_SECRET"].encode()
    extra = {"GRAPH_PROFILE_CALLS_PER_SECOND": str(RATE), "ANALYZER_DEBOUNCE_S": "0.2"}
    async with serving(sim) as url:
        extra["GRAPH_API_BASE_URL"] = url
        async with (
            running(service_env, "webhook", "analyzer", "assigner", extra_env=extra) as stack,
            httpx.AsyncClient(timeout=30) as client,
        ):
            for start in range(0, SENDERS, PER_DELIVERY):
                items = [
                    message_item("PB", s, f"m_pace_{s}", TS, text="hi, how much is it?")
                    for s in senders[start : start + PER_DELIVERY]
                ]
                body = envelope("messenger", "PB", items, TS)
                r = await client.post(
                    f"{stack.url}/webhooks/meta",
                    content=body,
                    headers={"X-Hub-Signature-256": sign(body, secret)},
                )
                assert r.status_code == 200
            # Names do not wait for scoring (nor scoring for names): wait for the names alone.
            deadline = asyncio.get_running_loop().time() + 60 + SENDERS / 20
            while (await counts(clean_db))[1] != SENDERS:
                assert asyncio.get_running_loop().time() < deadline, await counts(clean_db)
                await asyncio.sleep(0.5)
            logs = stack.logs()
    assert sim.busiest_profile_second("PB") <= RATE
    assert sim.calls["profile"] == SENDERS  # one lookup per customer, none repeated
    named = await clean_db.fetch("SELECT external_id, name FROM contacts WHERE page_id = 'PB'")
    assert {r["external_id"]: r["name"] for r in named} == {s: f"Customer {i}" for i, s in enumerate(senders)}
    assert TOKEN not in logs
