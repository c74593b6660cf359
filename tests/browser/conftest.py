"""Headless Chromium (Debian's, through Playwright) against a running webhook service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from leadsync.sim.graph import SimGraph, serving
from tests.support import secrets as test_secrets
from tests.support.stack import Stack, running

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-extensions",
                "--no-first-run",
                "--mute-audio",
            ],
        )
        yield browser
        await browser.close()


# Pages of the simulated Graph API (id, token, Messenger threads): the tests' shop data uses them.
GRAPH_PAGES = {"100": ("token-of-0", 60), "102": ("token-of-2", 600)}


@pytest.fixture(scope="module")
async def graph() -> AsyncIterator[tuple[SimGraph, str]]:
    """A slow simulated Graph API, so a person (and the test) can watch a job progress."""
    sim = SimGraph(latency=0.15, app_secret=test_secrets.APP_SECRET)
    for page_id, (token, threads) in GRAPH_PAGES.items():
        sim.add_page(page_id, token, messenger=threads)
    async with serving(sim) as url:
        yield sim, url


@pytest.fixture(scope="module")
async def stack(service_env, graph) -> AsyncIterator[Stack]:
    """All four services, their Graph API the simulated one, a few threads per call."""
    extra = {"GRAPH_API_BASE_URL": graph[1], "BACKFILL_PAGE_SIZE": "3", "GRAPH_CALLS_PER_SECOND": "5"}
    async with running(service_env, extra_env=extra) as s:
        yield s


@contextlib.asynccontextmanager
async def browser_page(browser: Browser, url: str) -> AsyncIterator[Page]:
    """A page of a fresh browser context on `url`, closed after."""
    context = await browser.new_context(base_url=url, viewport={"width": 1360, "height": 860})
    page = await context.new_page()
    page.set_default_timeout(15_000)
    yield page
    await context.close()


@pytest.fixture
async def page(browser: Browser, stack: Stack) -> AsyncIterator[Page]:
    async with browser_page(browser, stack.url) as opened:
        yield opened


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot under tests/artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
