"""Whether a page is connected (DESIGN §2): live events of other pages are stored, not analysed.

A page is connected when it has a row in `pages` that is not disconnected (`health_status`).
"Connected" is believed for `ttl_s`; "not connected" is asked again every delivery, so a page
that gets connected is analysed from its next event on (its first backfill re-reads the
conversations stored before). Concurrent events of one page share one read.
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import asyncpg
from prometheus_client import Counter

from shared.vocabulary import HealthStatus

Unconnected = Literal["unknown", "disconnected"]

UNCONNECTED = Counter(
    "leadsync_unconnected_events_total",
    "Live conversation.updated events of pages that are not connected, stored but not analysed: "
    "unknown (no row in pages) or disconnected.",
    ["reason"],
)


class ConnectedPages:
    """`await pages(page_id)`: None when the page is connected, else why it is not."""

    def __init__(self, pool: asyncpg.Pool, ttl_s: float) -> None:
        self._pool = pool
        self._ttl = ttl_s
        self._connected: dict[str, float] = {}
        self._reads: dict[str, asyncio.Future[Unconnected | None]] = {}

    async def __call__(self, page_id: str) -> Unconnected | None:
        if self._connected.get(page_id, 0.0) > time.monotonic():
            return None
        read = self._reads.get(page_id)
        if read is None:
            read = asyncio.ensure_future(self._read(page_id))
            self._reads[page_id] = read
            read.add_done_callback(lambda _: self._reads.pop(page_id, None))
        return await asyncio.shield(read)

    async def _read(self, page_id: str) -> Unconnected | None:
        status = await self._pool.fetchval("SELECT health_status FROM pages WHERE id = $1", page_id)
        if status is None:
            return "unknown"
        if status == HealthStatus.DISCONNECTED:
            return "disconnected"
        if len(self._connected) > 10_000:
            self._connected.clear()
        self._connected[page_id] = time.monotonic() + self._ttl
        return None
