"""Signed Messenger webhooks through `leadsync run` with the fallback scorer: WON and LOST as the
business would call them — a customer's "not paid yet" or "don't stop" never closes a deal, the
page's own "Payment received" does, and a later "ok stop" does not undo it."""

from __future__ import annotations

import time
from typing import Any

import asyncpg
import httpx

from leadsync.sim.traffic import envelope, message_item
from services.webhook.signature import sign
from tests.support.backfill import api as admin
from tests.support.eventually import eventually
from tests.support.pipelines import sales_page
from tests.support.stack import running

PAGE = "PAGE_OUTCOMES"
STAGES = [
    ("New lead", "LEAD"),
    ("Interested", "IN_PROGRESS"),
    ("Ready to buy", "IN_PROGRESS"),
    ("Won", "WON"),
    ("Lost", "LOST"),
]


class Customer:
    """One customer writing to the page (and the page answering) through signed deliveries."""

    def __init__(self, client: httpx.AsyncClient, url: str, secret: bytes, psid: str) -> None:
        self.client, self.url, self.secret, self.psid = client, url, secret, psid
        self.sent = 0
        self.clock = int(time.time() * 1000) - 60_000

    async def say(self, text: str, *, page: bool = False) -> None:
        self.sent += 1
        self.clock += 1_000
        item = message_item(PAGE, self.psid, f"m_{self.psid}_{self.sent}", self.clock, text=text, echo=page)
        body = envelope("messenger", PAGE, [item], self.clock)
        r = await self.client.post(
            f"{self.url}/webhooks/meta",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, self.secret)},
        )
        assert r.status_code == 200, r.text


async def contact(pool: asyncpg.Pool, psid: str, *, messages: int, timeout: float = 40) -> dict[str, Any]:
    """The contact once an analysis covering its first `messages` messages has been applied."""

    async def analysed() -> asyncpg.Record | None:
        row: asyncpg.Record | None = await pool.fetchrow(
            """SELECT c.lead_status, c.lead_score, c.ai_reasoning, s.name AS stage,
                      (SELECT count(*) FROM messages m WHERE m.contact_external_id = c.external_id
                         AND m.sent_at <= c.analyzed_through) AS analysed
               FROM contacts c LEFT JOIN stages s ON s.id = c.stage_id
               WHERE c.page_id = $1 AND c.external_id = $2""",
            PAGE,
            psid,
        )
        return row if row is not None and row["analysed"] >= messages else None

    row = await eventually(analysed, what=f"{psid} analysed through {messages} messages", timeout=timeout)
    return dict(row)


async def test_only_the_page_closes_a_sale_and_negations_never_decide(clean_db, service_env):
    secret = service_env["META_APP_SECRET"].encode()
    async with (
        running(
            service_env, "webhook", "analyzer", "assigner", extra_env={"ANALYZER_DEBOUNCE_S": "0.3"}
        ) as stack,
        httpx.AsyncClient() as client,
    ):
        async with admin(stack.url, service_env) as api:
            await sales_page(api, PAGE, "Outcomes", "EAAoutcomesPAGEtoken0123456789", stages=STAGES)

        # The reported defect: "not paid yet" was WON and placed in Won.
        unpaid = Customer(client, stack.url, secret, "PSID_UNPAID")
        await unpaid.say("How much? I have not paid yet")
        row = await contact(clean_db, "PSID_UNPAID", messages=1)
        assert row["lead_status"] != "WON" and row["stage"] != "Won", row
        assert "payment pending: not paid yet" in row["ai_reasoning"]

        # "please don't stop sending offers" was LOST.
        offers = Customer(client, stack.url, secret, "PSID_OFFERS")
        await offers.say("How much is the candle set?")
        await offers.say("It's $32!", page=True)
        await offers.say("I have not paid, please don't stop sending offers")
        row = await contact(clean_db, "PSID_OFFERS", messages=3)
        assert row["lead_status"] != "LOST" and row["stage"] != "Lost", row

        # A customer's "paid" is a claim; the page's confirmation (an echo, nothing after it) is WON.
        buyer = Customer(client, stack.url, secret, "PSID_BUYER")
        await buyer.say("I'll take the large set, paid just now")
        row = await contact(clean_db, "PSID_BUYER", messages=1)
        assert (row["lead_status"], row["stage"]) == ("QUALIFIED", "Ready to buy"), row
        assert "customer says paid, not confirmed" in row["ai_reasoning"]
        await buyer.say("Payment received, your order is confirmed!", page=True)
        row = await contact(clean_db, "PSID_BUYER", messages=2)
        assert (row["lead_status"], row["stage"]) == ("WON", "Won"), row
        # Then "ok stop" (the customer wants the messages to stop) leaves the sale where it is.
        await buyer.say("ok stop")
        row = await contact(clean_db, "PSID_BUYER", messages=3)
        assert (row["lead_status"], row["stage"]) == ("WON", "Won"), row
