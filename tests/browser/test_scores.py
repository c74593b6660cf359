"""A sales manager checking scores in Chromium: a contact's score history and why, a dry-run
re-score next to its Apply button, and whether scores predict outcomes (calibration).

The contact is built the way production builds one: signed webhooks, scored by a (fake) model
that cites its evidence, placed by the assigner. Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import ARTIFACTS, shot
from tests.fakes.llm import FakeLLM
from tests.support.console import log_in
from tests.support.eventually import eventually
from tests.support.meta_events import CONFIRMATION, deliver, messenger_echo, messenger_event
from tests.support.pipelines import sales_page
from tests.support.stack import Stack, running

pytestmark = pytest.mark.browser

PAGE = "PAGE_SCORES"
# What the model says to the newest customer turn (by a word in it); "tomorrow" is a later model.
TODAY = {
    "hello": (35, "CONTACTED"),
    "deliver": (64, "QUALIFIED"),
    "paid": (96, "WON"),
    "other": (22, "CONTACTED"),
}
TOMORROW = {**TODAY, "other": (70, "QUALIFIED")}
VERDICTS = {"now": TODAY}


def model(body: dict[str, Any], _n: int) -> dict[str, Any]:
    said = json.loads(body["messages"][-1]["content"])["messages"]
    customer = [m for m in said if m["speaker"] == "customer"]
    word = next(w for w in VERDICTS["now"] if w in customer[-1]["text"].lower())
    score, status = VERDICTS["now"][word]
    cited = [customer[-1]["n"]] + [m["n"] for m in said if m["speaker"] == "page"]
    return {
        "lead_score": score,
        "lead_status": status,
        "evidence": cited,
        "summary": f"{word}: scored {score}",
        "reasoning": f"the customer wrote about {word}",
    }


@pytest.fixture(scope="module")
async def stack(service_env) -> AsyncIterator[Stack]:
    """All four services, scoring with the fake model."""
    async with FakeLLM(responder=model) as llm:
        extra = llm.env(ANALYZER_DEBOUNCE_S="0.2", BACKFILL_HEARTBEAT_S="0.2")
        async with running(service_env, extra_env=extra) as s:
            yield s


class Shop:
    def __init__(self, stack: Stack, env: dict[str, str], pool: Any) -> None:
        self.api = httpx.AsyncClient(
            base_url=stack.url, headers={"Authorization": f"Bearer {env['ADMIN_TOKEN']}"}
        )
        self.secret = env["META_APP_SECRET"].encode()
        self.pool = pool
        self.clock = 1764028800000

    async def deliver(self, body: bytes) -> None:
        r = await deliver(self.api, body, self.secret)
        assert r.status_code == 200

    async def says(self, user: str, text: str) -> None:
        """The customer writes; returns once an analysis covering the message is applied."""
        self.clock += 3_600_000
        await self.deliver(messenger_event(PAGE, user, f"m_{user}_{self.clock}", text, self.clock))
        await self.covered(user)

    async def answers(self, user: str, text: str) -> None:
        self.clock += 3_600_000
        await self.deliver(messenger_echo(PAGE, user, f"m_page_{self.clock}", text, self.clock))

    async def covered(self, user: str) -> None:
        sent = datetime.fromtimestamp(self.clock / 1000, UTC)

        async def applied() -> bool:
            through = await self.pool.fetchval(
                "SELECT analyzed_through FROM contacts WHERE external_id = $1", user
            )
            return through is not None and through >= sent

        await eventually(applied, what=f"the analysis of {user}'s latest message")


@pytest.fixture
async def shop(clean_db, service_env, stack) -> AsyncIterator[Shop]:
    VERDICTS["now"] = TODAY
    found = Shop(stack, service_env, clean_db)
    await sales_page(found.api, PAGE, "Tienda Sofía", "EAAscoresPAGEtoken1234567890ab", auto_sync=False)
    yield found
    await found.api.aclose()


async def sofia_buys(shop: Shop) -> str:
    """Four analyses: a question, a delivery ask, a claimed payment (not a sale), the page's
    confirmation (the sale)."""
    await shop.says("u_sofia", "hello! how much is the annual plan?")
    await shop.says("u_sofia", "can you deliver to Makati tomorrow? +63 917 555 0142")
    await shop.says("u_sofia", "paid by GCash just now")
    await shop.answers("u_sofia", CONFIRMATION)
    await shop.covered("u_sofia")  # a confirmation is analysed at once
    return await shop.pool.fetchval("SELECT id::text FROM contacts WHERE external_id = 'u_sofia'")


def csp_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


async def test_a_contacts_score_history_and_the_messages_behind_its_score(page, shop, service_env):
    contact = await sofia_buys(shop)
    errors = csp_errors(page)
    await log_in(page, service_env["ADMIN_TOKEN"])
    await page.goto(f"/ops/contacts/{contact}")
    history = page.locator("section.history")
    await expect(history.get_by_role("heading", name=re.compile("Score history"))).to_be_visible()
    points = history.locator("svg.chart g.point")
    await expect(points).to_have_count(4)  # one dot per analysis, oldest first
    # The claim alone is held below the Won band; the page's confirmation makes the sale.
    assert [
        (await p.get_attribute("data-score"), await p.get_attribute("data-status"))
        for p in await points.all()
    ] == [("35", "CONTACTED"), ("64", "QUALIFIED"), ("80", "QUALIFIED"), ("96", "WON")]
    await expect(history.locator("circle.dot-won")).to_have_count(1)
    await expect(history.locator("text.mark-won")).to_have_text("WON")
    ARTIFACTS.mkdir(exist_ok=True)
    chart = ARTIFACTS / "12-score-history.png"
    await history.screenshot(path=str(chart))
    assert chart.stat().st_size > 5_000  # a real picture of the chart, not an empty box

    # The current score (WON) cites the customer's "paid" and the page's confirmation.
    cited = page.locator("ol.conversation li.cited")
    await expect(cited).to_have_count(2)
    await expect(cited.nth(0)).to_contain_text("paid by GCash just now")
    await expect(cited.nth(1)).to_contain_text(CONFIRMATION)
    await expect(page.locator("ol.conversation li:not(.cited)")).to_have_count(2)
    why = page.locator("section.why")
    await expect(why).to_contain_text("96 · WON · model gpt-4o-mini")
    await expect(why).to_contain_text("Messages the model gpt-4o-mini cites: #3 #4")
    await why.get_by_role("link", name="#4").click()  # the page's confirmation, message #4
    await expect(page).to_have_url(re.compile(r"#msg-m_page_"))
    await shot(page, "13-contact-scores")
    assert not [e for e in errors if "Content Security Policy" in e], errors


async def test_a_dry_run_shows_the_moves_and_apply_makes_them(page, shop, service_env):
    await sofia_buys(shop)
    await shop.says("u_ana", "just looking at other colours")
    assert (
        await shop.pool.fetchval(
            "SELECT s.name FROM contacts c JOIN stages s ON s.id = c.stage_id WHERE external_id = 'u_ana'"
        )
        == "Engaged"
    )
    VERDICTS["now"] = TOMORROW  # a new model thinks Ana is a hot lead
    await log_in(page, service_env["ADMIN_TOKEN"])
    await page.goto(f"/ops/pages/{PAGE}")
    await page.get_by_role("button", name="Dry run").click()
    await expect(page.get_by_role("status")).to_contain_text("Dry run started")
    result = page.locator(".rescore-result")
    for _ in range(60):  # the job runs in the background; the page shows it once done
        await page.reload()
        if await result.get_by_role("button", name="Apply").count():
            break
    await expect(result.locator('li[data-move="up"] strong')).to_have_text("1")
    await expect(result.locator('li[data-move="unchanged"] strong')).to_have_text("1")
    await expect(result.locator('tr[data-move="up"]')).to_contain_text("Engaged")
    await expect(result.locator('tr[data-move="up"]')).to_contain_text("Negotiation")
    await shot(page, "14-dry-run")
    assert (
        await shop.pool.fetchval(
            "SELECT s.name FROM contacts c JOIN stages s ON s.id = c.stage_id WHERE external_id = 'u_ana'"
        )
        == "Engaged"
    )  # nothing moved yet

    await result.get_by_role("button", name="Apply").click()
    await expect(page.get_by_role("status")).to_contain_text("Re-score started")

    async def applied() -> bool:
        return (
            await shop.pool.fetchval(
                "SELECT count(*) FROM jobs WHERE kind = 'RESCORE' AND status = 'COMPLETED'"
            )
            == 2
        )

    await eventually(applied, what="the applied re-score")
    assert (
        await shop.pool.fetchval(
            "SELECT s.name FROM contacts c JOIN stages s ON s.id = c.stage_id WHERE external_id = 'u_ana'"
        )
        == "Negotiation"
    )
    await page.reload()
    await expect(page.locator(".rescore-result h3")).to_contain_text("Re-score")
    await expect(page.locator(".rescore-result li[data-move='up'] strong")).to_have_text("1")
    await expect(page.locator(".rescore-result").get_by_role("button", name="Apply")).to_have_count(0)
    await shot(page, "15-applied")


async def test_calibration_shows_outcomes_per_score_band(page, shop, service_env):
    await sofia_buys(shop)  # scored 35, 64 and 80 before the sale
    await shop.says("u_ana", "just looking at other colours")  # 22, still open
    await log_in(page, service_env["ADMIN_TOKEN"])
    await page.goto("/ops/stages")
    chart = page.locator("section.calibration svg.chart")
    await expect(chart).to_be_visible()
    assert await chart.locator('g.band[data-band="31-40"]').get_attribute("data-win-rate") == "1.0"
    assert await chart.locator('g.band[data-band="61-70"]').get_attribute("data-contacts") == "1"
    assert await chart.locator('g.band[data-band="71-80"]').get_attribute("data-win-rate") == "1.0"
    assert await chart.locator('g.band[data-band="21-30"]').get_attribute("data-win-rate") == "0.0"
    await expect(chart.locator('g.band[data-band="91-100"]')).to_have_attribute("data-contacts", "0")
    await page.locator("section.calibration").screenshot(path=str(ARTIFACTS / "16-calibration.png"))
