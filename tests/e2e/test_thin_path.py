"""A signed Messenger event POSTed to a running `leadsync run` ends as a contact row."""

from __future__ import annotations

import asyncio

import httpx

from services.webhook.signature import sign
from tests.support.eventually import wait_for_row
from tests.support.meta_events import messenger_event
from tests.support.stack import running


async def test_signed_messenger_event_becomes_a_contact(clean_db, service_env):
    secret = service_env["META_APP_SECRET"].encode()
    body = messenger_event("PAGE_E2E", "PSID_1", "m_e2e_1", "¿Cuánto cuesta? price please", 1764028800000)
    # A connected page: live events of pages nobody set up are stored, not analysed.
    await clean_db.execute("INSERT INTO pages (id, name) VALUES ('PAGE_E2E', 'Shop')")
    async with running(service_env) as stack, httpx.AsyncClient() as client:
        r = await client.post(
            f"{stack.url}/webhooks/meta",
            content=body,
            headers={"X-Hub-Signature-256": sign(body, secret), "Content-Type": "application/json"},
        )
        assert r.status_code == 200
        row = await wait_for_row(
            clean_db,
            "SELECT * FROM contacts WHERE page_id = $1 AND external_id = $2",
            "PAGE_E2E",
            "PSID_1",
        )
        assert row is not None, stack.logs()
        assert row["platform"] == "messenger"
        # The fallback scorer explains itself: the question and the price ask are its signals.
        assert row["used_fallback"] is True
        assert "questions (1)" in row["ai_reasoning"] and "asked the price" in row["ai_reasoning"]
        stored = await clean_db.fetchval("SELECT text FROM messages WHERE mid = 'm_e2e_1'")
        assert stored == "¿Cuánto cuesta? price please"
        # No secret of the configuration appears in any log line.
        logs = stack.logs()
        for key in ("META_APP_SECRET", "ADMIN_TOKEN", "TOKEN_ENCRYPTION_KEY", "META_VERIFY_TOKEN"):
            assert service_env[key] not in logs


async def test_unsigned_event_is_refused_and_publishes_nothing(clean_db, service_env):
    body = messenger_event("PAGE_E2E", "PSID_2", "m_e2e_2", "hello", 1764028800000)
    async with running(service_env) as stack, httpx.AsyncClient() as client:
        r = await client.post(
            f"{stack.url}/webhooks/meta", content=body, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
        )
        assert r.status_code == 401
        await asyncio.sleep(1.0)
        assert await clean_db.fetchval("SELECT count(*) FROM messages") == 0
