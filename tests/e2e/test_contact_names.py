"""A contact first seen through a webhook gets its name from a best-effort Graph profile lookup."""

from __future__ import annotations

import httpx

from leadsync.sim.graph import SimGraph, serving
from tests.support import secrets as test_secrets
from tests.support.backfill import add_page
from tests.support.eventually import wait_for_row
from tests.support.meta_events import deliver, messenger_event
from tests.support.stack import running

TOKEN = "EAAnamestoken0123456789abcdef"


async def test_webhook_contact_is_named_from_its_profile(clean_db, service_env):
    sim = SimGraph(
        latency=4.0, app_secret=test_secrets.APP_SECRET
    )  # Meta is slow today: scoring must not wait for the name
    page = sim.add_page("PN", TOKEN, messenger=2)
    known = page.conversations["messenger"][0]
    sim.no_consent.add("PSID_NO_CONSENT")
    await add_page(clean_db, service_env["TOKEN_ENCRYPTION_KEY"], "PN", TOKEN)
    secret = service_env["META_APP_SECRET"].encode()
    extra = {"GRAPH_API_BASE_URL": "", "ANALYZER_DEBOUNCE_S": "0.2"}
    async with serving(sim) as url:
        extra["GRAPH_API_BASE_URL"] = url
        async with (
            running(service_env, "webhook", "analyzer", "assigner", extra_env=extra) as stack,
            httpx.AsyncClient() as client,
        ):
            for user, mid in ((known.customer_id, "m_named"), ("PSID_NO_CONSENT", "m_anon")):
                body = messenger_event("PN", user, mid, "hello, price?", 1764028800000)
                r = await deliver(client, body, secret, stack.url)
                assert r.status_code == 200
            scored = await wait_for_row(
                clean_db,
                "SELECT name FROM contacts WHERE external_id = $1 AND lead_score IS NOT NULL",
                known.customer_id,
            )
            named = await wait_for_row(
                clean_db,
                "SELECT name FROM contacts WHERE external_id = $1 AND name IS NOT NULL",
                known.customer_id,
            )
            anon = await wait_for_row(
                clean_db, "SELECT name FROM contacts WHERE external_id = 'PSID_NO_CONSENT'"
            )
            logs = stack.logs()
    assert scored is not None and scored["name"] is None  # scored first, named later
    assert named is not None and named["name"] == known.customer_name
    # No consent yet (code 230): the event still lands, just without a name.
    assert anon is not None and anon["name"] is None
    assert sim.calls["profile"] >= 2
    assert TOKEN not in logs
