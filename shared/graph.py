"""Meta Graph API client: conversations with their messages in few calls, paced per page.

One httpx.AsyncClient per process. Each call is paced by a limiter per page or Instagram
account (GRAPH_CALLS_PER_SECOND), slows down as the usage headers near 100 %, waits out rate
limits, retries temporary errors with backoff, and raises the rest classified by Meta's error
code. Access tokens travel as a query parameter only; they never appear in errors or logs.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import structlog
from aiolimiter import AsyncLimiter
from prometheus_client import Counter
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from shared.errors import GraphError, RateLimited, TemporaryError, TokenInvalid, TooMuchData
from shared.graph_errors import error_from, slow_down, usage_of
from shared.graph_parse import (
    Conversation,
    ConversationPage,
    Failure,
    cursor_params,
    next_cursor,
    parse_conversation,
    parse_messages,
)
from shared.messages import ChatMessage, Platform
from shared.settings import GraphSettings

__all__ = [
    "Conversation",
    "ConversationPage",
    "Failure",
    "GraphClient",
    "GraphError",
    "RateLimited",
    "TemporaryError",
    "TokenInvalid",
    "TooMuchData",
]

log = structlog.get_logger("leadsync.graph")

CALLS = Counter(
    "leadsync_graph_calls_total",
    "Graph API calls by outcome: ok, rate_limited, temporary, token_invalid, too_much_data, error.",
    ["outcome"],
)
WAITED = Counter(
    "leadsync_graph_rate_limit_wait_seconds_total",
    "Seconds spent waiting because Meta said (code or usage headers) the limit was near or hit.",
)
_OUTCOMES = {
    RateLimited: "rate_limited",
    TemporaryError: "temporary",
    TokenInvalid: "token_invalid",
    TooMuchData: "too_much_data",
}

PACING_MARGIN = 1.05
# Calls made concurrently on one object (name lookups) are spaced from their grants only: a
# wider margin absorbs the scheduling jitter that pacing from the answer absorbs for the rest.
CONCURRENT_PACING_MARGIN = 1.15
MESSAGE_FIELDS = "id,created_time,from,message,attachments{mime_type}"


def conversation_fields(messages_limit: int, *, with_messages: bool = True) -> str:
    base = "id,updated_time,participants"
    return f"{base},messages.limit({messages_limit}){{{MESSAGE_FIELDS}}}" if with_messages else base


@dataclass(frozen=True, slots=True)
class _Call:
    """One Graph call as `GraphClient.call` was asked for it, the same on every retry."""

    path: str
    params: dict[str, Any]
    token: str | None
    pace: str | None
    reduce: bool
    method: str


class GraphClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        version: str,
        calls_per_second: float,
        attempts: int = 4,
        backoff: tuple[float, float] = (0.5, 8.0),
        rate_limit_wait: tuple[float, float] = (2.0, 300.0),
        slow_down_from: int = 75,
        app_secret: str | None = None,
        margin: float = PACING_MARGIN,
    ) -> None:
        self._http = http
        self._app_secret = app_secret.encode() if app_secret else None
        self._root = f"{base_url.rstrip('/')}/{version}"
        # A margin under Meta's limit: Meta counts arrivals, and a busy event loop or network can
        # send two paced calls closer together than they were granted (so a call is also paced
        # from the previous call's answer, see _once).
        self._interval = margin / calls_per_second
        self._attempts = attempts
        self._backoff = backoff
        self._rate_wait = rate_limit_wait
        self._slow_from = slow_down_from
        self._limiters: dict[str, AsyncLimiter] = {}
        self._resume_at: dict[str, float] = {}
        self.calls = 0

    @classmethod
    def from_settings(cls, settings: GraphSettings, http: httpx.AsyncClient) -> GraphClient:
        return cls(
            http,
            base_url=settings.graph_api_base_url,
            version=settings.graph_api_version,
            calls_per_second=settings.graph_calls_per_second,
            app_secret=settings.graph_app_secret,
        )

    def token_params(self, token: str) -> dict[str, str]:
        """`access_token` and its `appsecret_proof` (DESIGN §2), the parameters of a token call."""
        params = {"access_token": token}
        if self._app_secret is not None:
            params["appsecret_proof"] = appsecret_proof(token, self._app_secret)
        return params

    # --- one call ----------------------------------------------------------------------------

    async def call(
        self,
        path: str,
        params: dict[str, Any],
        *,
        token: str | None,
        pace: str | None,
        reduce_on_code_1: bool = False,
        method: str = "GET",
    ) -> dict[str, Any]:
        """`method` `path` (GET unless told); waits out rate limits, retries temporary errors,
        raises GraphError."""
        request = _Call(path, params, token, pace, reduce_on_code_1, method)
        waits = 0
        while True:
            try:
                async for attempt in AsyncRetrying(
                    retry=retry_if_exception_type(TemporaryError),
                    stop=stop_after_attempt(self._attempts),
                    wait=wait_exponential_jitter(
                        multiplier=self._backoff[0], max=self._backoff[1], jitter=self._backoff[0]
                    ),
                    reraise=True,
                ):
                    with attempt:
                        return await self._once(request)
            except RateLimited as err:
                # Meta's estimate when it gives one, else a growing wait: never a failure.
                waits += 1
                delay = err.retry_after or min(self._rate_wait[0] * 2 ** (waits - 1), self._rate_wait[1])
                WAITED.inc(delay)
                log.warning("graph.rate_limited", code=err.code, wait_s=round(delay, 2), pace=pace)
                if pace is not None:
                    self._resume_at[pace] = max(self._resume_at.get(pace, 0), time.monotonic() + delay)
                else:
                    await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, call: _Call) -> dict[str, Any]:
        pace = call.pace
        if pace is not None:
            await self._pace(pace)
        self.calls += 1
        try:
            body = await self._request(call)
        except GraphError as err:
            CALLS.labels(_OUTCOMES.get(type(err), "error")).inc()
            raise
        finally:
            if pace is not None:
                # The next call on this object goes an interval after this one's answer, not its
                # grant: a call sent late (a busy event loop) cannot arrive close to the next one.
                self._resume_at[pace] = max(self._resume_at.get(pace, 0), time.monotonic() + self._interval)
        CALLS.labels("ok").inc()
        return body

    async def _request(self, call: _Call) -> dict[str, Any]:
        pace = call.pace
        try:
            auth = self.token_params(call.token) if call.token else {}
            response = await self._http.request(
                call.method, f"{self._root}/{call.path}", params={**call.params, **auth}
            )
        except httpx.HTTPError as err:
            # httpx messages can hold the URL (and so the token): keep only the kind of failure.
            raise TemporaryError(f"Graph API unreachable ({type(err).__name__})", None) from None
        usage = usage_of(response.headers)
        extra = slow_down(usage, self._interval, self._slow_from)
        if pace is not None and extra > 0:
            WAITED.inc(extra)
            self._resume_at[pace] = max(self._resume_at.get(pace, 0), time.monotonic() + extra)
        try:
            body = orjson.loads(response.content) if response.content else {}
        except orjson.JSONDecodeError:
            body = {}
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            raise error_from(body["error"], response.status_code, usage, reduce_on_code_1=call.reduce)
        if response.status_code >= 500:
            raise TemporaryError(f"Graph API answered HTTP {response.status_code}", None)
        if response.status_code >= 400 or not isinstance(body, dict):
            raise GraphError(f"Graph API answered HTTP {response.status_code}", None)
        return body

    async def _pace(self, key: str) -> None:
        resume = self._resume_at.get(key, 0) - time.monotonic()
        if resume > 0:
            await asyncio.sleep(resume)
        limiter = self._limiters.get(key)
        if limiter is None:
            # One call per interval, no burst: Meta counts calls in a sliding second.
            limiter = self._limiters[key] = AsyncLimiter(1, self._interval)
        await limiter.acquire()

    # --- conversations -----------------------------------------------------------------------

    async def conversations(
        self,
        page_id: str,
        platform: Platform,
        token: str,
        *,
        after: str | None,
        limit: int,
        messages_limit: int = 20,
        page_objects: Iterable[str] = (),
        pace: str,
        user_id: str | None = None,
    ) -> ConversationPage:
        """One page of a platform's conversations, newest first, with their latest messages.

        When Meta answers code 1 (too much data) the page is asked again half as large; a
        single conversation that still fails is fetched on its own, and fails alone.
        """
        own = {page_id, *page_objects}
        size = limit
        params: dict[str, Any] = {"platform": platform}
        params.update(cursor_params(after))
        if user_id:
            params["user_id"] = user_id
        while True:
            try:
                body = await self.call(
                    f"{page_id}/conversations",
                    {**params, "fields": conversation_fields(messages_limit), "limit": size},
                    token=token,
                    pace=pace,
                    reduce_on_code_1=True,
                )
                break
            except TooMuchData:
                if size > 1:
                    size //= 2
                    continue
                return await self._one_by_one(page_id, platform, token, params, own, pace)
        conversations, failures = [], []
        for item in _items(body):
            parsed = parse_conversation(item, platform, own)
            if isinstance(parsed, Failure):
                failures.append(parsed)
            else:
                conversations.append(parsed)
        return ConversationPage(conversations, next_cursor(body), failures)

    async def _one_by_one(
        self,
        page_id: str,
        platform: Platform,
        token: str,
        params: dict[str, Any],
        own: set[str],
        pace: str,
    ) -> ConversationPage:
        body = await self.call(
            f"{page_id}/conversations",
            {**params, "fields": conversation_fields(0, with_messages=False), "limit": 1},
            token=token,
            pace=pace,
        )
        conversations: list[Conversation] = []
        failures: list[Failure] = []
        for item in _items(body):
            head = parse_conversation(item, platform, own)
            if isinstance(head, Failure):
                failures.append(head)
                continue
            try:
                head.messages, head.more_after = await self.messages(
                    head.id, token, own=own, after=None, limit=20, pace=pace
                )
                conversations.append(head)
            except (TokenInvalid, RateLimited):
                raise
            except GraphError as err:
                failures.append(Failure(head.id, head.contact_id, err.message, err.code))
        return ConversationPage(conversations, next_cursor(body), failures)

    async def messages(
        self,
        conversation_id: str,
        token: str,
        *,
        own: set[str],
        after: str | None,
        limit: int,
        pace: str,
    ) -> tuple[list[ChatMessage], str | None]:
        """One page of a conversation's messages (oldest first) and the cursor of older ones."""
        params: dict[str, Any] = {"fields": MESSAGE_FIELDS, "limit": limit}
        params.update(cursor_params(after))
        body = await self.call(f"{conversation_id}/messages", params, token=token, pace=pace)
        return parse_messages(_items(body), own), next_cursor(body)

    async def profile(
        self, user_id: str, platform: Platform, token: str, *, pace: str | None = None
    ) -> dict[str, Any]:
        fields = "first_name,last_name,name" if platform == "messenger" else "name,username"
        return await self.call(user_id, {"fields": fields}, token=token, pace=pace)


def appsecret_proof(token: str, app_secret: bytes) -> str:
    """Hex HMAC-SHA256 of the access token keyed with the app secret (Meta's appsecret_proof)."""
    return hmac.new(app_secret, token.encode(), hashlib.sha256).hexdigest()


def _items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The objects of a list answer, ignoring anything that is not one."""
    data = body.get("data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
