"""The ops console driven in a browser: signing in, and a page's row on the Pages screen."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect


async def log_in(page: Page, token: str) -> None:
    await page.goto("/ops/")
    await expect(page).to_have_url(re.compile(r"/ops/login\?next="))
    await page.get_by_label("Admin token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name=re.compile("Pages"))).to_be_visible()


def row(page: Page, name: str) -> Locator:
    return page.locator("tr[data-page-id]", has=page.get_by_role("link", name=name, exact=True))
