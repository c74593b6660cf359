"""Writes names that Graph profile lookups found after their contacts were scored, in batches."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from services.analyzer import repository
from shared.errors import DATABASE_ERRORS

log = structlog.get_logger("leadsync.analyzer")

FLUSH_EVERY_S = 0.2
MAX_BATCH = 1000


class NameWriter:
    """`add` is instant; a task writes what arrived every FLUSH_EVERY_S in one statement."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waiting: dict[tuple[str, str, str], str] = {}
        self._task: asyncio.Task[None] | None = None

    async def add(self, page_id: str, platform: str, contact_id: str, name: str) -> None:
        self._waiting[(page_id, platform, contact_id)] = name
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush_soon())

    async def close(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._flush()

    async def _flush_soon(self) -> None:
        while self._waiting:
            await asyncio.sleep(FLUSH_EVERY_S)
            await self._flush()

    async def _flush(self) -> None:
        while self._waiting:
            batch = list(self._waiting.items())[:MAX_BATCH]
            try:
                await repository.save_names(self._pool, [(*key, name) for key, name in batch])
            except DATABASE_ERRORS as err:
                # Kept for the next flush: the database comes back, the names are written then.
                log.warning("contact.names_not_saved", names=len(batch), error=type(err).__name__)
                return
            for key, name in batch:
                if self._waiting.get(key) == name:
                    del self._waiting[key]
