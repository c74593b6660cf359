"""Best-effort customer names from the Graph API for contacts first seen through webhooks.

Lookups run in the background, paced per page (GRAPH_PROFILE_CALLS_PER_SECOND, through the
Graph client's own per-key limiter, which also honours Meta's usage headers and rate limits) with
at most `concurrency` calls in flight per page, so a burst of new customers costs a bounded,
steady number of calls with the page token. `known(page, platform, contact)` answers at once
(a cached name, or None and the lookup is queued); when a name arrives later it goes to
`on_name`, which writes it to the contact — scoring never waits for it. Names are cached 24 h,
"no name" answers (code 230 when the customer has not consented yet, unknown users, refused
tokens) 10 min. A timeout or an unreachable Graph API is tried again later (RETRY_AFTER_S), and
only after the last try is "no name" cached, for 1 min.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import structlog

from shared import logging
from shared.crypto import TokenCipher
from shared.errors import DATABASE_ERRORS, GraphError, TemporaryError, TokenInvalid
from shared.graph import CONCURRENT_PACING_MARGIN, GraphClient
from shared.messages import Platform
from shared.settings import GraphSettings
from shared.text import clean

log = structlog.get_logger("leadsync.profiles")

NO_CONSENT = 230
RETRY_AFTER_S = (2.0, 10.0, 30.0)
Key = tuple[str, Platform, str]  # (page, platform, customer)
NameSink = Callable[[str, Platform, str, str], Awaitable[None]]


class TtlCache:
    """A small LRU map whose entries expire; enough for names and decrypted page tokens."""

    def __init__(self, ttl_s: float, max_size: int) -> None:
        self._ttl = ttl_s
        self._max = max_size
        self._data: OrderedDict[tuple[str, ...], tuple[float, str | None]] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> tuple[bool, str | None]:
        hit = self._data.get(key)
        if hit is None or hit[0] < time.monotonic():
            self._data.pop(key, None)
            return False, None
        self._data.move_to_end(key)
        return True, hit[1]

    def put(self, key: tuple[str, ...], value: str | None, ttl_s: float | None = None) -> None:
        self._data[key] = (time.monotonic() + (self._ttl if ttl_s is None else ttl_s), value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)


class Profiles:
    def __init__(
        self,
        pool: asyncpg.Pool,
        graph: GraphClient,
        cipher: TokenCipher,
        *,
        ttl_s: float = 24 * 3600,
        miss_ttl_s: float = 600,
        failure_ttl_s: float = 60,
        timeout_s: float = 3.0,
        max_size: int = 50_000,
        concurrency: int = 8,
        max_pending: int = 50_000,
        on_name: NameSink | None = None,
        retry_after_s: tuple[float, ...] = RETRY_AFTER_S,
    ) -> None:
        self._pool, self._graph, self._cipher = pool, graph, cipher
        self._names = TtlCache(ttl_s, max_size)
        self._tokens = TtlCache(300, 1000)
        # How long a name that does not exist, and a lookup that failed, are not asked again.
        self._miss_ttl, self._failure_ttl = miss_ttl_s, failure_ttl_s
        self._timeout = timeout_s
        self._concurrency = concurrency
        self._max_pending = max_pending
        self._on_name = on_name
        self._retry_after = retry_after_s
        self._queues: dict[str, deque[Key]] = {}
        self._workers: dict[str, int] = {}
        self._pending: dict[Key, asyncio.Future[str | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._tries: dict[Key, int] = {}
        self._retries: set[asyncio.TimerHandle] = set()
        self._full_reported = False

    @classmethod
    def from_settings(
        cls,
        settings: GraphSettings,
        pool: asyncpg.Pool,
        http: httpx.AsyncClient,
        *,
        on_name: NameSink | None = None,
        timeout_s: float = 3.0,
    ) -> Profiles | None:
        """Profiles for a service's wiring; None without TOKEN_ENCRYPTION_KEY (no token to use)."""
        key = settings.token_encryption_key
        if key is None:
            return None
        # A client of its own: its per-page pacing is the profile rate, not the conversations one.
        graph = GraphClient(
            http,
            base_url=settings.graph_api_base_url,
            version=settings.graph_api_version,
            calls_per_second=settings.graph_profile_calls_per_second,
            app_secret=settings.graph_app_secret,
            margin=CONCURRENT_PACING_MARGIN,
        )
        return cls(pool, graph, TokenCipher(key.get_secret_value()), on_name=on_name, timeout_s=timeout_s)

    def known(self, page_id: str, platform: Platform, contact_id: str) -> str | None:
        """The cached name now; when there is none yet, the lookup is queued (see on_name)."""
        hit, name = self._names.get((page_id, platform, contact_id))
        if not hit:
            self.request(page_id, platform, contact_id)
        return name

    def request(self, page_id: str, platform: Platform, contact_id: str) -> asyncio.Future[str | None]:
        """Queue a lookup (once per customer at a time); the future gets the name or None."""
        key: Key = (page_id, platform, contact_id)
        waiting = self._pending.get(key)
        if waiting is not None:
            return waiting
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        hit, name = self._names.get(key)
        if hit:
            future.set_result(name)
            return future
        if len(self._pending) >= self._max_pending:
            if not self._full_reported:
                self._full_reported = True
                log.warning(
                    "profile.queue_full",
                    pending=len(self._pending),
                    hint="names of further new customers are looked up on their next message",
                )
            future.set_result(None)
            return future
        self._pending[key] = future
        self._enqueue(key)
        return future

    def _enqueue(self, key: Key) -> None:
        page_id = key[0]
        self._queues.setdefault(page_id, deque()).append(key)
        if self._workers.get(page_id, 0) < self._concurrency:
            self._workers[page_id] = self._workers.get(page_id, 0) + 1
            task = asyncio.create_task(self._work(page_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def lookup(self, page_id: str, platform: Platform, contact_id: str) -> str | None:
        """The customer's name, or None when Meta will not say (or cannot be asked) now."""
        return await asyncio.shield(self.request(page_id, platform, contact_id))

    async def close(self) -> None:
        for handle in self._retries:
            handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _work(self, page_id: str) -> None:
        """One of a page's few workers: lookups one after another, paced by the Graph client."""
        queue = self._queues[page_id]
        try:
            while queue:
                key = queue.popleft()
                name, transient = await self._resolve(key)
                tries = self._tries.get(key, 0)
                if transient and tries < len(self._retry_after):
                    self._tries[key] = tries + 1
                    self._retry_later(key, self._retry_after[tries])
                    continue
                self._tries.pop(key, None)
                if transient:
                    self._names.put(key, None, self._failure_ttl)
                future = self._pending.pop(key, None)
                if future is not None and not future.done():
                    future.set_result(name)
                if name and self._on_name is not None:
                    try:
                        await self._on_name(*key, name)
                    except DATABASE_ERRORS as err:
                        log.warning("profile.name_not_saved", page_id=page_id, error=type(err).__name__)
        finally:
            self._workers[page_id] -= 1
            if not self._workers[page_id] and not queue:
                self._workers.pop(page_id, None)
                self._queues.pop(page_id, None)

    def _retry_later(self, key: Key, delay: float) -> None:
        def again() -> None:
            self._retries.discard(handle)
            self._enqueue(key)

        handle = asyncio.get_running_loop().call_later(delay, again)
        self._retries.add(handle)

    async def _resolve(self, key: Key) -> tuple[str | None, bool]:
        """(the name or None, whether it is worth asking again: a timeout or an outage)."""
        page_id, platform, contact_id = key
        hit, name = self._names.get(key)
        if hit:
            return name, False
        try:
            name = await asyncio.wait_for(self._fetch(page_id, platform, contact_id), self._timeout)
        except TimeoutError:
            log.info("profile.timeout", page_id=page_id, platform=platform)
            return None, True
        except TemporaryError as err:
            log.info("profile.unreachable", page_id=page_id, platform=platform, error=err.message)
            return None, True
        except GraphError as err:
            log.info(
                "profile.unavailable",
                page_id=page_id,
                platform=platform,
                code=err.code,
                reason="no consent yet" if err.code == NO_CONSENT else err.message,
            )
            if isinstance(err, TokenInvalid):
                self._tokens.put((page_id,), None, self._miss_ttl)
            self._names.put(key, None, self._miss_ttl)
            return None, False
        except DATABASE_ERRORS as err:
            log.warning("profile.failed", page_id=page_id, error=type(err).__name__)
            return None, True
        except ValueError as err:  # a stored token that cannot be decrypted: ask again later
            log.warning("profile.failed", page_id=page_id, error=type(err).__name__)
            self._names.put(key, None, self._miss_ttl)
            return None, False
        self._names.put(key, name, None if name else self._miss_ttl)
        return name, False

    async def _fetch(self, page_id: str, platform: Platform, contact_id: str) -> str | None:
        token = await self._token(page_id)
        if token is None:
            return None
        body = await self._graph.profile(contact_id, platform, token, pace=f"profile:{page_id}")
        name = (
            body.get("name")
            or " ".join(p for p in (body.get("first_name"), body.get("last_name")) if p)
            or body.get("username")
        )
        return clean(str(name)).strip() or None if name else None

    async def _token(self, page_id: str) -> str | None:
        cached, token = self._tokens.get((page_id,))
        if cached:
            return token
        blob = await self._pool.fetchval(
            "SELECT access_token_enc FROM pages WHERE id = $1 AND token_status = 'ok'", page_id
        )
        token = self._cipher.decrypt(blob) if blob is not None else None
        if token:
            logging.add_secrets([token])
        self._tokens.put((page_id,), token)
        return token
