"""Maps Instagram account ids (an Instagram entry's `id`) to pages, cached in-process briefly."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import asyncpg

# Known accounts rarely change; an unknown one may be registered any minute, so forget it sooner.
KNOWN_TTL_S = 60.0
UNKNOWN_TTL_S = 5.0
MAX_REMEMBERED = 10_000


class InstagramPages:
    """`await resolve(accounts)` → {account id: page id} for the accounts a page declares."""

    def __init__(self, pool: asyncpg.Pool, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._pool = pool
        self._clock = clock
        self._cache: dict[str, tuple[str | None, float]] = {}
        self._reported: set[str] = set()

    async def resolve(self, accounts: Iterable[str]) -> dict[str, str]:
        now = self._clock()
        found: dict[str, str] = {}
        missing = []
        for account in accounts:
            cached = self._cache.get(account)
            if cached is not None and cached[1] > now:
                if cached[0] is not None:
                    found[account] = cached[0]
            else:
                missing.append(account)
        if missing:
            rows = await self._pool.fetch(
                "SELECT instagram_account_id, id FROM pages WHERE instagram_account_id = ANY($1)",
                missing,
            )
            known = {r["instagram_account_id"]: r["id"] for r in rows}
            if len(self._cache) > MAX_REMEMBERED:
                self._cache.clear()
            for account in missing:
                page = known.get(account)
                ttl = KNOWN_TTL_S if page is not None else UNKNOWN_TTL_S
                self._cache[account] = (page, now + ttl)
                if page is not None:
                    found[account] = page
        return found

    def first_report(self, accounts: Iterable[str]) -> list[str]:
        """The accounts not reported before: an unknown account is logged once, not per event."""
        new = sorted(a for a in accounts if a not in self._reported)
        if len(self._reported) < MAX_REMEMBERED:
            self._reported.update(new)
        return new
