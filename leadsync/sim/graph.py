"""A simulated Graph API: pages of Messenger and Instagram conversations served like Meta does.

Conversations come from `leadsync.sim.corpus`. The app answers `/{page}/conversations` with field
expansion and cursor paging, `/{conversation}/messages`, and profile lookups, and can misbehave
on purpose: a per-object rate limit answering code 613 with usage headers, latency, expired
tokens (190), conversations whose data cannot be fetched, and code 1 for oversized answers.
Counters record every call so tests and benchmarks can check what a client did.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadsync.sim.meta_app import SimMetaApp
from leadsync.sim.threads import (
    SimConversation,
    SimPage,
    decode_cursor,
    encode_cursor,
    generate,
    graph_error,
    graph_time,
)
from shared.runtime import HttpServer

MAX_LIMIT = 100
DEFAULT_APP_ID = "1000000000001"
# Nested data the simulated Meta accepts in one answer before it says "reduce the amount of data".
MAX_NESTED_MESSAGES = 2500
_FIELDS = re.compile(r"messages(?:\.limit\((\d+)\))?")


class SimGraph:
    """The simulated Graph API's state and behaviour; `app` is its Starlette application."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        rate_limit: float | None = None,
        usage_percent: int = 5,
        version: str = "v25.0",
        app_secret: str,
        app_id: str = DEFAULT_APP_ID,
    ) -> None:
        self.meta = SimMetaApp(self, app_id=app_id, app_secret=app_secret)
        self.pages: dict[str, SimPage] = {}
        # Threads are dated back from the moment the simulation starts, newest first.
        self.epoch = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
        self.max_nested_messages = MAX_NESTED_MESSAGES
        self.latency = latency
        self.rate_limit = rate_limit
        self.usage_percent = usage_percent
        self.version = version
        self.expired_tokens: set[str] = set()
        self.failing: set[str] = set()  # conversation ids whose data cannot be fetched
        self.no_consent: set[str] = set()  # user ids whose profile answers code 230
        self.profiles: dict[str, str] = {}  # user id -> name, for customers without a thread
        # Every profile lookup as it arrived: (time.monotonic(), page whose token it used).
        self.profile_log: list[tuple[float, str | None]] = []
        self.down = False  # every call answers HTTP 500 (an outage)
        self.calls: Counter[str] = Counter()  # by kind: conversations, messages, profile
        self.calls_by_object: Counter[str] = Counter()  # by rate-limited page / Instagram account
        self.rate_limited = 0
        self.call_times: list[float] = []
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self.base_url = ""  # set by whoever serves the app, for paging.next URLs
        self.app = Starlette(
            routes=[
                Route("/_sim/stats", self._stats),
                *self.meta.routes(),
                Route("/{version}/{object_id}/conversations", self._conversations),
                Route("/{version}/{object_id}/messages", self._messages),
                Route("/{version}/{object_id}", self._object),
            ]
        )

    # --- building the data -------------------------------------------------------------------

    def add_page(
        self,
        page_id: str,
        token: str,
        *,
        messenger: int = 0,
        instagram: int = 0,
        instagram_account_id: str | None = None,
        long_every: int = 0,
        seed: int = 0,
        name: str = "",
    ) -> SimPage:
        """A page with generated conversations; every `long_every`-th one has 45 turns."""
        page = SimPage(page_id, token, instagram_account_id, name=name or f"Page {page_id}")
        for platform, count in (("messenger", messenger), ("instagram", instagram)):
            page.conversations[platform] = [
                generate(
                    page_id, platform, i, seed, self.epoch, long=bool(long_every) and i % long_every == 1
                )
                for i in range(count)
            ]
        self.pages[page_id] = page
        return page

    def touch(
        self,
        page_id: str,
        platform: str,
        *,
        new: bool = False,
        index: int = 0,
        text: str = "Is it still available? I want to order now",
        at: datetime | None = None,
    ) -> SimConversation:
        """A customer writes again (or a new one writes): the thread moves to the front."""
        threads = self.pages[page_id].conversations[platform]
        if new:
            conv = generate(page_id, platform, 100_000 + len(threads), 7, self.epoch, long=False)
            conv.turns = [(False, text)]
        else:
            conv = threads.pop(index)
            conv.turns = [*conv.turns, (False, text)]
        # Meta reports whole seconds; round up so the thread is never older than the moment.
        conv.updated = at or datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        threads.insert(0, conv)
        return conv

    def total_calls(self) -> int:
        return sum(self.calls.values())

    def busiest_profile_second(self, page_id: str) -> int:
        """The most profile lookups with `page_id`'s token that arrived within any one second."""
        times = sorted(t for t, page in self.profile_log if page == page_id)
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    # --- HTTP --------------------------------------------------------------------------------

    async def _guard(self, request: Request, rate_key: str | None) -> tuple[SimPage | None, Response | None]:
        """Latency, token and rate-limit checks shared by every route."""
        now = time.monotonic()
        self.call_times.append(now)
        limited = rate_key is not None and self._over_limit(rate_key, now)
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.down:
            return None, Response(b"Service Unavailable", status_code=500)
        refused = self.meta.check_proof(dict(request.query_params))
        if refused is not None:
            return None, refused
        token = request.query_params.get("access_token", "")
        page = next((p for p in self.pages.values() if p.token == token), None)
        if token in self.expired_tokens or page is None:
            return None, graph_error(
                190, "Error validating access token: Session has expired.", "OAuthException", subcode=463
            )
        if limited:
            assert rate_key is not None
            return None, graph_error(
                613,
                "Calls to this api have exceeded the rate limit.",
                "OAuthException",
                headers=self._usage(rate_key, 100),
            )
        return page, None

    def _over_limit(self, key: str, now: float) -> bool:
        """Counts calls as they arrive, in a sliding second (a little tolerance for bunching)."""
        self.calls_by_object[key] += 1
        if self.rate_limit is None:
            return False
        recent = self._recent[key]
        while recent and recent[0] <= now - 0.95:
            recent.popleft()
        if len(recent) >= self.rate_limit:
            self.rate_limited += 1
            return True
        recent.append(now)
        return False

    async def _stats(self, _: Request) -> Response:
        """Counters, for a simulation served by another process (the benchmark's)."""
        return Response(
            orjson.dumps(
                {
                    "calls": dict(self.calls),
                    "calls_by_object": dict(self.calls_by_object),
                    "rate_limited": self.rate_limited,
                }
            ),
            media_type="application/json",
        )

    def _usage(self, key: str, percent: int) -> dict[str, str]:
        buc = {
            key: [
                {
                    "type": "messenger",
                    "call_count": percent,
                    "total_cputime": 1,
                    "total_time": 1,
                    "estimated_time_to_regain_access": 0,
                }
            ]
        }
        app = {"call_count": percent, "total_cputime": 1, "total_time": 1}
        return {
            "X-Business-Use-Case-Usage": orjson.dumps(buc).decode(),
            "X-App-Usage": orjson.dumps(app).decode(),
        }

    async def _conversations(self, request: Request) -> Response:
        q = request.query_params
        page_id = request.path_params["object_id"]
        platform = q.get("platform", "messenger")
        sim_page = self.pages.get(page_id)
        rate_key = page_id
        if sim_page is not None and platform == "instagram" and sim_page.instagram_account_id:
            rate_key = sim_page.instagram_account_id
        self.calls["conversations"] += 1
        page, err = await self._guard(request, rate_key)
        if err is not None:
            return err
        if page is None or page.id != page_id or platform not in page.conversations:
            return graph_error(100, "Unsupported get request.", "GraphMethodException")
        threads = page.conversations[platform]
        if q.get("user_id"):
            threads = [c for c in threads if c.customer_id == q["user_id"]]
        limit = min(int(q.get("limit", 25)), MAX_LIMIT)
        start = decode_cursor(q.get("after"))
        chosen = threads[start : start + limit]
        page_object = (page.instagram_account_id or page.id) if platform == "instagram" else page.id
        fields = q.get("fields", "id")
        nested = _FIELDS.search(fields)
        data = []
        for conv in chosen:
            item: dict[str, Any] = {"id": conv.id, "updated_time": graph_time(conv.updated)}
            if "participants" in fields:
                item["participants"] = {
                    "data": [
                        {
                            "id": conv.customer_id,
                            "name": conv.customer_name,
                            **({"username": conv.username} if platform == "instagram" else {}),
                        },
                        {"id": page_object, "name": "Shop"},
                    ]
                }
            if nested:
                if conv.id in self.failing:
                    return graph_error(
                        1,
                        "Please reduce the amount of data you're asking for, then retry your request",
                        "OAuthException",
                    )
                per = int(nested.group(1) or 25)
                item["messages"] = self._message_page(
                    request, conv, page_object, 0, per, platform, fields_query=""
                )
            data.append(item)
        if nested and len(chosen) * int(nested.group(1) or 25) > self.max_nested_messages:
            return graph_error(
                1,
                "Please reduce the amount of data you're asking for, then retry your request",
                "OAuthException",
            )
        body: dict[str, Any] = {"data": data}
        if chosen:
            paging: dict[str, Any] = {
                "cursors": {"before": encode_cursor(start), "after": encode_cursor(start + len(chosen))}
            }
            if start + len(chosen) < len(threads):
                paging["next"] = self._next_url(request, start + len(chosen))
            body["paging"] = paging
        return self._ok(body, rate_key)

    def _message_page(
        self,
        request: Request,
        conv: SimConversation,
        page_object: str,
        start: int,
        limit: int,
        platform: str,
        fields_query: str,
    ) -> dict[str, Any]:
        messages = conv.messages(page_object)
        chosen = messages[start : start + limit]
        out: dict[str, Any] = {"data": chosen}
        if chosen:
            out["paging"] = {
                "cursors": {"before": encode_cursor(start), "after": encode_cursor(start + len(chosen))}
            }
            if start + len(chosen) < len(messages):
                token = request.query_params.get("access_token", "")
                proof = request.query_params.get("appsecret_proof", "")
                out["paging"]["next"] = (
                    f"{self.base_url}/{self.version}/{conv.id}/messages?access_token={token}"
                    f"&appsecret_proof={proof}"
                    f"&limit={limit}&after={encode_cursor(start + len(chosen))}{fields_query}"
                )
        return out

    async def _messages(self, request: Request) -> Response:
        conv_id = request.path_params["object_id"]
        found = self._find(conv_id)
        rate_key = None
        if found is not None:
            sim_page, platform, _ = found
            rate_key = (sim_page.instagram_account_id if platform == "instagram" else None) or sim_page.id
        self.calls["messages"] += 1
        page, err = await self._guard(request, rate_key)
        if err is not None:
            return err
        if found is None or found[0] is not page or conv_id in self.failing:
            return graph_error(
                100,
                "Unsupported get request. Object does not exist or cannot be "
                "loaded due to missing permissions.",
                "GraphMethodException",
            )
        sim_page, platform, conv = found
        page_object = (
            (sim_page.instagram_account_id or sim_page.id) if platform == "instagram" else sim_page.id
        )
        q = request.query_params
        body = self._message_page(
            request,
            conv,
            page_object,
            decode_cursor(q.get("after")),
            min(int(q.get("limit", 25)), MAX_LIMIT),
            platform,
            fields_query="&fields=" + q.get("fields", "id"),
        )
        return self._ok(body, rate_key)

    async def _object(self, request: Request) -> Response:
        """Profile lookups: `/{psid}?fields=first_name,last_name,name` or `/{igsid}?fields=name,username`."""
        user_id = request.path_params["object_id"]
        arrived = time.monotonic()
        self.calls["profile"] += 1
        page, err = await self._guard(request, None)
        token = request.query_params.get("access_token", "")
        owner = next((p.id for p in self.pages.values() if p.token == token), None)
        self.profile_log.append((arrived, owner))
        if err is not None:
            return err
        if user_id in self.no_consent:
            return graph_error(
                230, "Requires pages_messaging permission to manage the object", "OAuthException"
            )
        assert page is not None
        if user_id in self.profiles:
            name = self.profiles[user_id]
            first, _, last = name.partition(" ")
            return self._ok({"id": user_id, "name": name, "first_name": first, "last_name": last}, None)
        for threads in page.conversations.values():
            for conv in threads:
                if conv.customer_id == user_id:
                    first, _, last = conv.customer_name.partition(" ")
                    return self._ok(
                        {
                            "id": user_id,
                            "name": conv.customer_name,
                            "first_name": first,
                            "last_name": last,
                            "username": conv.username,
                        },
                        None,
                    )
        return graph_error(100, "Unsupported get request.", "GraphMethodException")

    def _find(self, conv_id: str) -> tuple[SimPage, str, SimConversation] | None:
        # Thread ids are t_{page}_{m|i}{index}; touched threads keep theirs, new ones get fresh ones.
        for page in self.pages.values():
            if not conv_id.startswith(f"t_{page.id}_"):
                continue
            for platform, threads in page.conversations.items():
                for conv in threads:
                    if conv.id == conv_id:
                        return page, platform, conv
        return None

    def _next_url(self, request: Request, after: int) -> str:
        params = dict(request.query_params)
        params["after"] = encode_cursor(after)
        return f"{self.base_url}{request.url.path}?{urlencode(params)}"

    def _ok(self, body: dict[str, Any], rate_key: str | None) -> Response:
        headers = self._usage(rate_key, self.usage_percent) if rate_key else {}
        return Response(orjson.dumps(body), media_type="application/json", headers=headers)


@contextlib.asynccontextmanager
async def serving(sim: SimGraph, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve the simulated Graph API on a free loopback port; yields its base URL."""
    server = HttpServer(sim.app, host=host, port=0)
    await server.start()
    sim.base_url = f"http://{host}:{server.port}"
    try:
        yield sim.base_url
    finally:
        await server.shutdown()
