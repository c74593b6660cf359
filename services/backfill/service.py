"""The backfill assembled from its settings: the backfill.requested consumer (the job worker),
its Graph client, and the scheduler loop beside it."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import httpx
from asyncpg import Pool

from services.backfill import scheduler
from services.backfill.consumer import Worker
from services.backfill.health import PageHealth
from services.backfill.settings import BackfillSettings
from shared import logging
from shared.broker import Publisher
from shared.crypto import TokenCipher
from shared.graph import GraphClient
from shared.messages import BackfillRequested
from shared.meta_app import MetaApp
from shared.runtime import Service, Stack, consumer_for, pool_for, publisher_for


async def build(
    settings: BackfillSettings, stack: Stack, *, pool: Pool | None = None, publisher: Publisher | None = None
) -> Service:
    """The backfill; a pool or publisher not given is opened here, and everything opened is
    closed by `stack` (running jobs are given back first)."""
    log = logging.get_logger("leadsync.backfill")
    key = settings.token_encryption_key
    if key is None:
        log.warning("backfill.no_token_key", reason="TOKEN_ENCRYPTION_KEY is not set; jobs will fail")
    pool = await pool_for(settings, stack, pool)
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(30, connect=5),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
    )
    stack.push_async_callback(http.aclose)
    publisher = publisher_for(settings, stack, publisher)
    graph = GraphClient.from_settings(settings, http)
    meta = MetaApp.from_settings(settings, graph)
    if meta is None:
        log.warning(
            "backfill.no_meta_app",
            reason="META_APP_ID or META_APP_SECRET is not set; page health is not checked",
        )
    checker = (
        PageHealth(pool, meta, TokenCipher(key.get_secret_value()), settings.backfill_health_interval_s)
        if meta and key
        else None
    )
    # Set as soon as the process is asked to stop: running jobs stop too, given back, not lost.
    stopping = asyncio.Event()
    worker = Worker(
        pool=pool,
        publisher=publisher,
        graph=graph,
        health=checker,
        cipher=TokenCipher(key.get_secret_value()) if key else None,
        settings=settings,
        worker_id=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
        stopping=stopping,
    )
    stack.push_async_callback(worker.shutdown)
    consumer = consumer_for(settings, "backfill", BackfillRequested, worker.handle, pool, settings.prefetch)
    the_pool, the_publisher = pool, publisher

    async def schedule(stop: asyncio.Event) -> None:
        await scheduler.run(
            the_pool,
            the_publisher,
            stop=stop,
            interval_s=settings.backfill_scheduler_interval_s,
            stale_after_s=settings.backfill_stale_after_s,
            settle_timeout_s=settings.backfill_settle_timeout_s,
            health=checker.sweep if checker else None,
        )

    return Service(consumer, pool, on_stop=stopping.set, loops={"scheduler": schedule})
