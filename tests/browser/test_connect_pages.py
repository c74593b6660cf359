"""A business owner connects pages in Chromium: Connect pages, Allow in the (simulated) Facebook
dialog, pick two of three pages, watch them sync to 100 %, then disconnect both at once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from leadsync.sim.graph import SimGraph, serving
from shared.meta_app import PAGE_FIELDS
from tests.browser.conftest import browser_page, shot
from tests.support.connect import simulated_meta
from tests.support.console import log_in, row
from tests.support.stack import Stack, running

pytestmark = pytest.mark.browser

OWNER = "10150000000000077"
SHOPS = {
    "301": ("Panadería Luna", 8, None),
    "302": ("Warung Sari", 6, "17841400000000302"),
    "303": ("Not This One", 3, None),
}


@pytest.fixture(scope="module")
async def meta() -> AsyncIterator[tuple[SimGraph, str]]:
    sim = simulated_meta(SHOPS, (OWNER, "Luna Owner"), "EAAPbrowser{}token0123456789abc", latency=0.05)
    async with serving(sim) as url:
        yield sim, url


@pytest.fixture(scope="module")
async def connect_stack(service_env, meta) -> AsyncIterator[Stack]:
    sim, url = meta
    extra = {
        "GRAPH_API_BASE_URL": url,
        "META_WEB_BASE_URL": url,
        "META_APP_ID": sim.meta.app_id,
        "BACKFILL_PAGE_SIZE": "3",
        "GRAPH_CALLS_PER_SECOND": "5",
    }
    async with running(service_env, extra_env=extra) as s:
        yield s


@pytest.fixture
async def page(browser: Browser, connect_stack: Stack) -> AsyncIterator[Page]:
    async with browser_page(browser, connect_stack.url) as opened:
        yield opened


async def test_connect_two_of_three_pages_watch_them_sync_then_disconnect_both(
    page, clean_db, service_env, meta
):
    sim, _ = meta
    await log_in(page, service_env["ADMIN_TOKEN"])
    # Nothing subscribed at the app level yet: the console says so.
    await expect(page.locator("p.warning")).to_contain_text("app-level webhook subscription")
    await shot(page, "connect-01-no-pages")
    await page.get_by_role("link", name="Connect pages").click()

    # Meta's dialog (simulated): the person's pages and an Allow button.
    await expect(page.get_by_role("heading", name=re.compile("manage your pages"))).to_be_visible()
    for name, _, _ in SHOPS.values():
        await expect(page.get_by_text(name)).to_be_visible()
    await shot(page, "connect-02-facebook-dialog")
    await page.get_by_role("button", name="Allow").click()

    # Back in the console: every page with a checkbox, the full-sync box ticked by default.
    await expect(page.get_by_role("heading", name="Connect pages")).to_be_visible()
    await expect(page.get_by_text("Signed in to Facebook as Luna Owner")).to_be_visible()
    await expect(page.get_by_label(re.compile("Start a full sync"))).to_be_checked()
    await page.get_by_label(re.compile("Not This One")).uncheck()
    await shot(page, "connect-03-pick-pages")
    await page.get_by_role("button", name="Connect selected pages").click()

    await expect(page.get_by_role("status").first).to_contain_text("Connected 2 pages")
    for page_id in ("301", "302"):
        assert set(sim.meta.page_subscriptions[page_id]) == set(PAGE_FIELDS)
    assert "303" not in sim.meta.page_subscriptions
    for name in ("Panadería Luna", "Warung Sari"):
        shop = row(page, name)
        await expect(shop.locator(".health")).to_have_text("ok")
    await expect(row(page, "Not This One")).to_have_count(0)
    await expect(page.locator("p.warning")).to_have_count(0)  # connecting set the app level
    await shot(page, "connect-04-syncing")
    for name, contacts in (("Panadería Luna", 8), ("Warung Sari", 8)):
        shop = row(page, name)
        await expect(shop.locator(".badge")).to_have_text("completed", timeout=60_000)
        await expect(shop.locator(".percent")).to_have_text("100 %")
        await expect(shop.locator("td.contacts")).to_have_text(str(contacts), timeout=30_000)
    await shot(page, "connect-05-synced")

    # Bulk disconnect: select both, confirm (the page names what "forget" would delete).
    await page.get_by_label("select Panadería Luna").check()
    await page.get_by_label("select Warung Sari").check()
    await page.get_by_role("button", name="Disconnect selected").click()
    await expect(page.get_by_role("heading", name="Disconnect 2 pages?")).to_be_visible()
    await expect(page.locator(".forget-count")).to_have_text("16 contacts")
    await shot(page, "connect-06-confirm-disconnect")
    await page.get_by_role("button", name="Disconnect", exact=True).click()
    await expect(page.get_by_role("status").first).to_contain_text("Disconnected 2 pages")
    for name in ("Panadería Luna", "Warung Sari"):
        shop = row(page, name)
        await expect(shop.locator(".health")).to_have_text("disconnected")
        await expect(shop.get_by_role("link", name="Connect")).to_be_visible()
    assert sim.meta.page_subscriptions == {}
    assert await clean_db.fetchval("SELECT count(*) FROM pages WHERE access_token_enc IS NOT NULL") == 0
    assert await clean_db.fetchval("SELECT count(*) FROM contacts") == 16  # history kept
    await shot(page, "connect-07-disconnected")
