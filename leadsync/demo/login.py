"""The demo's pages are connected the way a business connects its own: signed in to the console,
"Connect pages", Allow in the (simulated) Facebook dialog, pick the pages, connect."""

from __future__ import annotations

import html
import re

import httpx

from shared.errors import DemoError

_FIELD = re.compile(r'name="(sealed|csrf)" value="([^"]+)"')


async def connect_pages(url: str, admin_token: str, page_ids: list[str]) -> str:
    """Run the console's connect flow like a browser does; returns the console's notice."""
    async with (
        httpx.AsyncClient(base_url=url, timeout=20) as console,
        httpx.AsyncClient(timeout=20) as facebook,
    ):
        signed_in = await console.post("/ops/login", data={"token": admin_token, "next": "/ops/"})
        _expect(signed_in, 303, "signing in to the console")
        start = await console.get("/ops/connect")
        _expect(start, 303, "Connect pages")
        dialog = httpx.URL(start.headers["location"])
        _expect(await facebook.get(dialog), 200, "opening the Facebook dialog")
        allowed = await facebook.post(
            dialog.copy_with(path=dialog.path + "/answer", query=None),
            data={
                "answer": "allow",
                "state": dialog.params["state"],
                "redirect_uri": dialog.params["redirect_uri"],
            },
        )
        _expect(allowed, 302, "allowing in the Facebook dialog")
        callback = httpx.URL(allowed.headers["location"])
        bounced = await console.get(callback.path, params=callback.params)
        _expect(bounced, 200, "the login callback")
        picker = await console.get("/ops/connect/finish", params=callback.params)
        _expect(picker, 200, "listing the pages")
        fields = {k: html.unescape(v) for k, v in _FIELD.findall(picker.text)}
        # The demo starts its syncs itself after setting the pipeline, so no backfill here.
        done = await console.post("/ops/connect", data={**fields, "page_id": page_ids})
        _expect(done, 303, "connecting the pages")
        return str(httpx.URL(done.headers["location"]).params.get("notice", ""))


def _expect(response: httpx.Response, status: int, doing: str) -> None:
    if response.status_code != status:
        raise DemoError(f"{doing} answered {response.status_code}: {response.text[:300]}")
