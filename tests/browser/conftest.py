"""Headless Chromium (Debian's, through Playwright) against a running webhook service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.support.stack import Stack, running

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-extensions",
                  "--no-first-run", "--mute-audio"],
        )
        yield browser
        await browser.close()


@pytest.fixture(scope="module")
async def stack(service_env) -> AsyncIterator[Stack]:
    async with running(service_env, "webhook", "backfill") as s:
        yield s


@pytest.fixture
async def page(browser: Browser, stack: Stack) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=stack.url, viewport={"width": 1360, "height": 860})
    page = await context.new_page()
    page.set_default_timeout(15_000)
    yield page
    await context.close()


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot under tests/artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
