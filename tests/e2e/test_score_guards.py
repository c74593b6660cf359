"""WON needs the page's confirmation, Won is final, LOST needs a refusal: over signed webhooks.

Both scorers run as a user runs them (`leadsync run`): the fallback (no key) and the LLM — here a
fake model that answers with the most hostile verdict each turn invites (WON on "I have not paid
yet", LOST on "don't stop sending offers"). The guards must hold either way.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.fakes.llm import FakeLLM
from tests.support.eventually import eventually
from tests.support.meta_events import CONFIRMATION, deliver, messenger_echo, messenger_event
from tests.support.pipelines import sales_page
from tests.support.stack import running

PAGE = "PAGE_GUARD"
T0_MS = 1764028800000


def hostile(body: dict[str, Any], _n: int) -> dict[str, Any]:
    """The worst verdict the newest customer turn invites, citing what a model would cite."""
    said = json.loads(body["messages"][-1]["content"])["messages"]
    last = [m for m in said if m["speaker"] == "customer"][-1]
    page = [m["n"] for m in said if m["speaker"] == "page"]
    text = last["text"].lower()
    if "stop" in text:  # "ok stop" and "please don't stop sending offers" alike
        return {"lead_score": 6, "lead_status": "LOST", "evidence": [last["n"]]}
    if page:  # the page has answered: a sale, citing its confirmation
        return {"lead_score": 96, "lead_status": "WON", "evidence": [last["n"], *page]}
    return {"lead_score": 92, "lead_status": "WON", "evidence": [last["n"]]}  # "paid", not yet


class Shop:
    """A page with the e2e pipeline, the running stack and ways to talk to it as Meta does."""

    def __init__(self, stack: Any, api: httpx.AsyncClient, db: asyncpg.Pool, secret: bytes) -> None:
        self.stack, self.api, self.db, self.secret = stack, api, db, secret
        self.clock = T0_MS

    async def setup(self) -> None:
        await sales_page(self.api, PAGE, "Guarded shop", "EAAguardPAGEtoken1234567890abc")

    async def _post(self, body: bytes) -> None:
        r = await deliver(self.api, body, self.secret)
        assert r.status_code == 200

    async def customer(self, user: str, text: str) -> dict[str, Any]:
        """A customer's message; returns the contact once an analysis covering it is applied."""
        self.clock += 60_000
        sent = datetime.fromtimestamp(self.clock / 1000, UTC)
        await self._post(messenger_event(PAGE, user, f"m_{user}_{self.clock}", text, self.clock))

        async def applied() -> bool:
            through = await self.db.fetchval(
                "SELECT analyzed_through FROM contacts WHERE external_id = $1", user
            )
            return through is not None and through >= sent

        await eventually(applied, what=f"the analysis of {text!r}")
        return await self.contact(user)

    async def page(self, user: str, text: str) -> None:
        """The page's reply: stored (it waits for the customer's next turn to be analysed)."""
        self.clock += 60_000
        mid = f"m_page_{user}_{self.clock}"
        await self._post(messenger_echo(PAGE, user, mid, text, self.clock))

        async def stored() -> bool:
            return await self.db.fetchval("SELECT count(*) FROM messages WHERE mid = $1", mid) == 1

        await eventually(stored, what="the page's reply stored")

    async def contact(self, user: str) -> dict[str, Any]:
        row = await self.db.fetchrow(
            """SELECT c.id::text, c.lead_score, c.lead_status, s.name AS stage FROM contacts c
               LEFT JOIN stages s ON s.id = c.stage_id WHERE c.external_id = $1""",
            user,
        )
        scores = (await self.api.get(f"/api/contacts/{row['id']}/scores")).json()["items"]
        # the ledger lists by the transcript time an analysis covers: the newest first
        return {**dict(row), "latest": scores[0]}

    async def blocked(self, user: str) -> list[str]:
        rows = await self.db.fetch(
            """SELECT a.details ->> 'blocked' AS why FROM activities a
               JOIN contacts c ON c.id = a.contact_id
               WHERE c.external_id = $1 AND a.type = 'STAGE_CHANGE_BLOCKED' ORDER BY a.id""",
            user,
        )
        return [r["why"] for r in rows]


@pytest.fixture(params=["fallback", "llm"])
async def shop(request, clean_db, service_env) -> AsyncIterator[Shop]:
    async with contextlib.AsyncExitStack() as stack:
        extra = {"ANALYZER_DEBOUNCE_S": "0.2"}
        if request.param == "llm":
            llm = await stack.enter_async_context(FakeLLM(responder=hostile))
            extra.update(OPENAI_API_KEY="sk-test-fake-key-0000000000", OPENAI_BASE_URL=llm.base_url)
        services = await stack.enter_async_context(
            running(service_env, "webhook", "analyzer", "assigner", extra_env=extra)
        )
        api = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=services.url, headers={"Authorization": f"Bearer {service_env['ADMIN_TOKEN']}"}
            )
        )
        found = Shop(services, api, clean_db, service_env["META_APP_SECRET"].encode())
        await found.setup()
        yield found
        scorer = {r["used_fallback"] for r in await clean_db.fetch("SELECT used_fallback FROM scores")}
        assert scorer == {request.param == "fallback"}  # the scorer the test meant, every time
        # Every analysis the analyzer made has its ledger row, and every mid it cites is stored.
        made = services.logs().count('"conversation.scored"')
        assert made > 0 and await clean_db.fetchval("SELECT count(*) FROM scores") == made
        unknown = await clean_db.fetchval(
            """SELECT count(*) FROM scores s,
                      jsonb_array_elements_text(s.evidence || coalesce(
                          (SELECT jsonb_agg(m) FROM jsonb_array_elements(s.signals) g,
                                  jsonb_array_elements(g -> 'mids') m), '[]')) AS cited(mid)
               WHERE NOT EXISTS (SELECT 1 FROM messages WHERE messages.mid = cited.mid)"""
        )
        assert unknown == 0
        if request.param == "llm":
            assert await clean_db.fetchval("SELECT count(*) FROM scores WHERE evidence <> '[]'") == made


async def test_i_have_not_paid_yet_is_not_won_and_not_placed_in_won(shop):
    contact = await shop.customer("u_unpaid", "How much? I have not paid yet")
    assert contact["lead_status"] != "WON" and contact["stage"] != "Won"
    assert contact["latest"]["lead_status"] != "WON"


async def test_a_page_confirmation_after_the_customers_paid_is_won(shop):
    claimed = await shop.customer("u_buyer", "ok I paid, sent it by GCash")
    assert (claimed["lead_status"], claimed["stage"]) != ("WON", "Won")  # the claim alone
    await shop.page("u_buyer", CONFIRMATION)
    sold = await shop.customer("u_buyer", "great, thanks!")
    assert (sold["lead_status"], sold["stage"]) == ("WON", "Won")
    confirmation = await shop.db.fetchval("SELECT mid FROM messages WHERE text = $1", CONFIRMATION)
    assert confirmation in sold["latest"]["evidence"]  # the sale cites the page's confirmation


async def test_ok_stop_does_not_move_a_won_contact(shop):
    await shop.customer("u_done", "I paid already")
    await shop.page("u_done", CONFIRMATION)
    sold = await shop.customer("u_done", "thanks")
    assert sold["stage"] == "Won"
    after = await shop.customer("u_done", "ok stop")
    assert after["stage"] == "Won"
    assert await shop.blocked("u_done") in ([], ["won_is_final"])  # kept: by the rules, or unmoved


async def test_dont_stop_sending_offers_is_not_lost(shop):
    contact = await shop.customer("u_keen", "I have not paid, please don't stop sending offers")
    assert contact["lead_status"] != "LOST" and contact["stage"] != "Lost"
    assert contact["latest"]["lead_status"] != "LOST"
