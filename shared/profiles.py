"""Best-effort customer names from the Graph API for contacts first seen through webhooks.

`Profiles.lookup(page_id, platform, contact_id)` answers a name or None, never raises and never
waits longer than its timeout: a missing name must not delay or fail an event. Answers (and
"no name", e.g. code 230 when the customer has not consented yet) are cached for a while.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

import asyncpg
import httpx
import structlog

from shared import logging
from shared.crypto import TokenCipher
from shared.graph import GraphClient, GraphError, TokenInvalid
from shared.messages import Platform
from shared.settings import GraphSettings
from shared.text import clean

log = structlog.get_logger("leadsync.profiles")

NO_CONSENT = 230


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
        self, pool: asyncpg.Pool, graph: GraphClient, cipher: TokenCipher, *,
        ttl_s: float = 24 * 3600, miss_ttl_s: float = 600, timeout_s: float = 3.0,
        max_size: int = 50_000,
    ) -> None:
        self._pool = pool
        self._graph = graph
        self._cipher = cipher
        self._names = TtlCache(ttl_s, max_size)
        self._tokens = TtlCache(300, 1000)
        self._miss_ttl = miss_ttl_s
        self._timeout = timeout_s

    @classmethod
    def from_settings(
        cls, settings: GraphSettings, pool: asyncpg.Pool, http: httpx.AsyncClient
    ) -> Profiles | None:
        """Profiles for a service's wiring; None without TOKEN_ENCRYPTION_KEY (no token to use)."""
        key = settings.token_encryption_key
        if key is None:
            return None
        return cls(pool, GraphClient.from_settings(settings, http), TokenCipher(key.get_secret_value()))

    async def lookup(self, page_id: str, platform: Platform, contact_id: str) -> str | None:
        """The customer's name, or None when Meta will not say (or cannot be asked) now."""
        key = (page_id, platform, contact_id)
        cached, name = self._names.get(key)
        if cached:
            return name
        try:
            name = await asyncio.wait_for(self._fetch(page_id, platform, contact_id), self._timeout)
        except TimeoutError:
            log.info("profile.timeout", page_id=page_id, platform=platform)
            return None  # not cached: the next event may be luckier
        except GraphError as err:
            log.info("profile.unavailable", page_id=page_id, platform=platform, code=err.code,
                     reason="no consent yet" if err.code == NO_CONSENT else err.message)
            if isinstance(err, TokenInvalid):
                self._tokens.put((page_id,), None, self._miss_ttl)
            self._names.put(key, None, self._miss_ttl)
            return None
        except (OSError, asyncpg.PostgresError, ValueError) as err:
            log.warning("profile.failed", page_id=page_id, error=type(err).__name__)
            return None
        self._names.put(key, name, None if name else self._miss_ttl)
        return name

    async def _fetch(self, page_id: str, platform: Platform, contact_id: str) -> str | None:
        token = await self._token(page_id)
        if token is None:
            return None
        body = await self._graph.profile(contact_id, platform, token)
        name = body.get("name") or " ".join(
            p for p in (body.get("first_name"), body.get("last_name")) if p
        ) or body.get("username")
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
