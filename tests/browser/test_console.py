"""A person using the ops console in Chromium: log in, sync, watch progress, cancel, search, browse."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Request, Route, expect

from shared.crypto import TokenCipher
from tests.browser.conftest import shot
from tests.support.console import log_in, row
from tests.support.eventually import eventually

pytestmark = pytest.mark.browser

SHOPS = [
    "Bakery Manila",
    "Café Lumière",
    "Surf Shop Bali",
    "Tienda Sofía",
    "Loja da Ana",
    "Kopi Kenangan Bandung",
    "Sari-Sari Express",
    "Boulangerie Hugo",
]


@pytest.fixture
async def shop(clean_db, service_env):
    """45 pages (8 named shops, then numbered branches), a pipeline with contacts and activity."""
    pool = clean_db
    names = SHOPS + [f"Branch {i:02d}" for i in range(1, 38)]
    cipher = TokenCipher(service_env["TOKEN_ENCRYPTION_KEY"])
    await pool.executemany(
        "INSERT INTO pages (id, name, instagram_account_id, last_synced_at, token_status, "
        "access_token_enc) VALUES ($1, $2, $3, now() - $4 * interval '1 hour', $5, $6)",
        [
            (
                f"{100 + i}",
                name,
                f"ig{i}" if i % 3 == 0 else None,
                i + 1,
                "expired" if i == 5 else "ok",
                cipher.encrypt(f"token-of-{i}"),
            )
            for i, name in enumerate(names)
        ],
    )
    pipeline = await pool.fetchval("INSERT INTO pipelines (name) VALUES ('Sales') RETURNING id")
    await pool.execute("UPDATE pages SET auto_pipeline_id = $1 WHERE id IN ('100', '101')", pipeline)
    stages = {}
    for pos, (name, kind, lo, hi) in enumerate(
        [
            ("New lead", "LEAD", 0, 30),
            ("Interested", "IN_PROGRESS", 31, 55),
            ("Ready to buy", "IN_PROGRESS", 56, 80),
            ("Won", "WON", 81, 100),
            ("Lost", "LOST", 0, 20),
        ]
    ):
        stages[name] = await pool.fetchval(
            "INSERT INTO stages (pipeline_id, name, type, position, lead_score_min, lead_score_max) "
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            pipeline,
            name,
            kind,
            pos,
            lo,
            hi,
        )
    people = [
        ("Sofía García", "Ready to buy", 78, "Asked the price of the annual plan and shared her email."),
        ("João Silva", "Ready to buy", 71, "Wants three units delivered tomorrow; gave a WhatsApp number."),
        ("Emma Smith", "Interested", 44, "Asked about colours and sizes, will think about it."),
        ("Putri Wijaya", "Interested", 38, "Asked which sizes are available."),
        ("Liam Cruz", "New lead", 12, "Said hi, nothing else yet."),
        ("Léa Dubois", "Won", 95, "Paid for the premium plan; order confirmed."),
        ("Mark Reyes", "Lost", 9, "Found it too expensive, not interested."),
    ]
    ids = {}
    for i, (name, stage, score, summary) in enumerate(people):
        ids[name] = await pool.fetchval(
            """INSERT INTO contacts (page_id, platform, external_id, name, pipeline_id, stage_id,
                   lead_score, lead_status, ai_summary, ai_reasoning, ai_confidence, used_fallback,
                   last_message_at)
               VALUES ('100', $1, $2, $3, $4, $5, $6, 'QUALIFIED', $7, 'buying intent +30', 70, true,
                       now() - interval '2 hours') RETURNING id""",
            "instagram" if i % 2 else "messenger",
            f"u{i}",
            name,
            pipeline,
            stages[stage],
            score,
            summary,
        )
    await pool.execute(
        """INSERT INTO activities (contact_id, type, from_stage_id, to_stage_id, lead_score, details)
           VALUES ($1, 'STAGE_CHANGED', NULL, $2, 44, '{"rule": "score_range"}'),
                  ($1, 'STAGE_CHANGED', $2, $3, 78, '{"rule": "score_range"}')""",
        ids["Sofía García"],
        stages["Interested"],
        stages["Ready to buy"],
    )
    await pool.execute(
        """INSERT INTO messages (mid, page_id, platform, contact_external_id, from_page, text, sent_at)
           VALUES ('m1', '100', 'messenger', 'u0', false, 'Hola, ¿cuánto cuesta el plan anual?',
                   now() - interval '3 hours'),
                  ('m2', '100', 'messenger', 'u0', true, 'Cuesta $49 con envío gratis.',
                   now() - interval '170 minutes')"""
    )
    return {"pool": pool, "contacts": ids}


async def test_log_in_sync_and_watch_the_bar_reach_100(page, shop, service_env):
    await page.goto("/ops/")
    await shot(page, "01-login")
    await log_in(page, service_env["ADMIN_TOKEN"])
    assert service_env["ADMIN_TOKEN"] not in page.url
    await shot(page, "02-pages")

    bakery = row(page, "Bakery Manila")
    await expect(bakery.locator("td.last-sync")).to_have_text("1 h ago")
    await expect(bakery.locator("td.contacts")).to_have_text("7")
    await bakery.get_by_role("button", name="Sync").click()
    await expect(page.get_by_role("status")).to_contain_text("Started 1 full sync")
    bakery = row(page, "Bakery Manila")
    # The backfill worker pulls the threads from the simulated Graph API; the bar follows.
    await expect(bakery.locator(".badge")).to_have_text("in progress")
    await expect(bakery.get_by_role("button", name="Sync")).to_be_disabled()
    await expect(bakery.locator(".job-text")).to_contain_text(re.compile(r"[1-9]\d* / "))
    await shot(page, "03-sync-in-progress")
    await expect(bakery.locator(".badge")).to_have_text("completed", timeout=60_000)
    await expect(bakery.locator("progress")).to_have_attribute("value", "100")
    await expect(bakery.locator(".percent")).to_have_text("100 %")
    await expect(bakery.locator(".job-text")).to_contain_text("60 / 60")
    # The row's other figures follow without a reload: 60 new contacts, synced just now.
    await expect(bakery.locator("td.contacts")).to_have_text("67")
    await expect(bakery.locator("td.last-sync")).to_have_text("just now")
    await expect(bakery.get_by_role("button", name="Cancel")).to_be_hidden()
    await expect(bakery.get_by_role("button", name="Sync")).to_be_enabled()
    await shot(page, "04-sync-done")


async def test_cancel_another_job(page, shop, service_env, graph):
    sim, _ = graph
    await log_in(page, service_env["ADMIN_TOKEN"])
    await page.get_by_label("Search by page name").fill("surf")
    await page.get_by_role("button", name="Search").click()
    surf = row(page, "Surf Shop Bali")
    await surf.get_by_role("button", name="Sync").click()
    surf = row(page, "Surf Shop Bali")
    await expect(surf.locator(".badge")).to_have_text("in progress")
    await shot(page, "05-before-cancel")
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await surf.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("status")).to_have_text("Job cancelled.")
    surf = row(page, "Surf Shop Bali")
    await expect(surf.locator(".badge")).to_have_text("cancelled")
    await expect(surf.get_by_role("button", name="Sync")).to_be_enabled()
    assert await shop["pool"].fetchval("SELECT status FROM jobs WHERE page_id = '102'") == "CANCELLED"
    # The worker notices at its next heartbeat and stops calling the Graph API for this page.
    await asyncio.sleep(2)
    calls = sim.total_calls()
    await asyncio.sleep(2)
    assert sim.total_calls() == calls
    await shot(page, "06-cancelled")


async def test_search_page_through_and_bulk_sync(page, shop, service_env):
    await log_in(page, service_env["ADMIN_TOKEN"])
    await expect(page.locator("tr[data-page-id]")).to_have_count(20)
    await page.get_by_role("link", name="Next →").click()
    await expect(page.get_by_text("Page 2 of 3")).to_be_visible()
    await page.get_by_role("link", name="Next →").click()
    await expect(page.locator("tr[data-page-id]")).to_have_count(5)
    await shot(page, "07-last-page")

    await page.get_by_label("Search by page name").fill("sofía")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("tr[data-page-id]")).to_have_count(1)
    await expect(page.get_by_role("link", name="Tienda Sofía")).to_be_visible()

    await page.get_by_label("Search by page name").fill("branch 1")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("tr[data-page-id]")).to_have_count(10)
    await page.get_by_label("select all").check()
    await page.get_by_role("button", name="Sync selected").click()
    await expect(page.get_by_role("status")).to_have_text("Started 10 incremental syncs.")
    # Each selected page got its job (the simulated Graph API does not know these pages, so
    # the jobs may already have failed by now: any status will do, "no job yet" will not).
    await expect(page.locator("tr[data-page-id] .badge", has_text="no job yet")).to_have_count(0)
    await shot(page, "08-bulk-sync")


async def test_stage_board_contact_log_and_job_history(page, shop, service_env):
    await shop["pool"].execute(
        """INSERT INTO jobs (page_id, kind, status, total_contacts, synced_contacts, failed_contacts,
                             started_at, completed_at, errors)
           VALUES ('100', 'FULL', 'COMPLETED', 40, 38, 2, now() - interval '2 hours',
                   now() - interval '118 minutes',
                   '[{"platform": "messenger", "id": "t_77", "error": "Graph error 100: unsupported"},
                     {"platform": "instagram", "id": "t_78", "error": "Graph error 100: unsupported"}]')"""
    )
    await log_in(page, service_env["ADMIN_TOKEN"])
    await page.get_by_role("link", name="Stage board").click()
    await expect(page.get_by_role("heading", name="Stage board · Sales")).to_be_visible()
    ready = page.locator('section[data-stage="Ready to buy"]')
    await expect(ready.locator(".card")).to_have_count(2)
    await expect(ready.locator(".card").first).to_contain_text("Sofía García")
    await shot(page, "09-stage-board")

    await ready.get_by_role("link", name=re.compile("Sofía García")).click()
    await expect(page.get_by_role("heading", name="Sofía García")).to_be_visible()
    await expect(page.locator("ol.activity li")).to_have_count(2)
    await expect(page.locator("ol.activity li").first).to_contain_text("Interested → Ready to buy")
    await expect(page.locator("ol.conversation")).to_contain_text("¿cuánto cuesta el plan anual?")
    await shot(page, "10-contact")

    await page.get_by_role("link", name="Pages").click()
    await page.get_by_role("link", name="Bakery Manila").click()
    await expect(page.get_by_role("heading", name="Job history")).to_be_visible()
    await expect(page.locator("tr[data-job-row]")).to_have_count(1)
    await page.get_by_text("2 failed conversations").click()
    await expect(page.get_by_text("Graph error 100: unsupported").first).to_be_visible()
    await shot(page, "11-page-history")


async def test_polling_pauses_while_hidden_resumes_on_return_and_never_overlaps(page, shop, service_env):
    await log_in(page, service_env["ADMIN_TOKEN"])
    in_flight, peak, seen = 0, 0, []

    async def slow(route: Route) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        seen.append(route.request.url)
        await asyncio.sleep(3)  # slower than the 2 s poll interval
        await route.continue_()
        in_flight -= 1

    await page.route("**/ops/api/progress**", slow)
    await page.reload()
    await eventually(lambda: len(seen) >= 2, what="two polls")
    assert peak == 1, "a poll started while another was still waiting for its answer"

    await page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    await eventually(lambda: in_flight == 0, what="no poll in flight")
    before = len(seen)
    await asyncio.sleep(4.5)  # more than two poll intervals
    assert len(seen) == before, "polled while the tab was hidden"

    async with page.expect_request(lambda r: "/ops/api/progress" in r.url) as back:
        await page.evaluate("""() => {
            Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
            Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
            document.dispatchEvent(new Event('visibilitychange'));
        }""")
    request: Request = await back.value
    assert "page=100" in request.url
