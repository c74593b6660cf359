"""`python -m services.backfill`: run backfill jobs from backfill.requested, and the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid

import httpx

from services.backfill import scheduler
from services.backfill.health import PageHealth
from services.backfill.settings import DEFAULT_METRICS_PORT, BackfillSettings
from services.backfill.worker import Worker
from shared import db, logging
from shared.broker import CONSUMER_CONFIRM_TIMEOUT, Consumer, Publisher, Topology
from shared.crypto import TokenCipher
from shared.graph import GraphClient
from shared.messages import BackfillRequested
from shared.meta_app import MetaApp
from shared.runtime import run, serve_consumer, supervise
from shared.settings import load


async def main(stop: asyncio.Event) -> None:
    settings = load(BackfillSettings)
    logging.configure(
        service="backfill", fmt=settings.log_format, level=settings.log_level,
        secrets=settings.secrets(),
    )
    log = logging.get_logger("leadsync.backfill")
    key = settings.token_encryption_key
    if key is None:
        log.warning("backfill.no_token_key", reason="TOKEN_ENCRYPTION_KEY is not set; jobs will fail")
    topology = Topology(settings.broker_namespace)
    async with contextlib.AsyncExitStack() as stack:
        pool = await db.create_pool(settings.database_url, min_size=0)
        stack.push_async_callback(pool.close)
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(30, connect=5),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )
        stack.push_async_callback(http.aclose)
        publisher = Publisher(
            settings.amqp_url.get_secret_value(), topology, timeout=CONSUMER_CONFIRM_TIMEOUT
        )
        stack.push_async_callback(publisher.close)
        graph = GraphClient.from_settings(settings, http)
        meta = MetaApp.from_settings(settings, graph)
        if meta is None:
            log.warning("backfill.no_meta_app", reason="META_APP_ID or META_APP_SECRET is not set; "
                        "page health is not checked")
        checker = PageHealth(pool, meta, TokenCipher(key.get_secret_value()),
                             settings.backfill_health_interval_s) if meta and key else None
        worker = Worker(
            pool=pool,
            publisher=publisher,
            graph=graph,
            health=checker,
            cipher=TokenCipher(key.get_secret_value()) if key else None,
            settings=settings,
            worker_id=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}",
            stopping=stop,  # SIGTERM stops running jobs too: they are given back, not lost
        )

        async def database() -> bool:
            return await pool.fetchval("SELECT 1") == 1

        consumer = Consumer(
            amqp_url=settings.amqp_url.get_secret_value(),
            topology=topology,
            service="backfill",
            model=BackfillRequested,
            handler=worker.handle,
            prefetch=settings.prefetch,
            probe=database,
            retry_budget_s=settings.retry_budget_s,
        )
        schedule = asyncio.create_task(scheduler.run(
            pool, publisher, stop=stop, interval_s=settings.backfill_scheduler_interval_s,
            stale_after_s=settings.backfill_stale_after_s,
            settle_timeout_s=settings.backfill_settle_timeout_s,
            health=checker.sweep if checker else None,
        ))
        supervise(schedule, name="scheduler", stop=stop)

        async def broker() -> bool:
            return consumer.connected

        try:
            await serve_consumer(
                consumer, stop=stop, port=settings.metrics_port_or(DEFAULT_METRICS_PORT),
                checks={"broker": broker, "database": database},
            )
        finally:
            await worker.shutdown()
            await asyncio.gather(schedule, return_exceptions=True)


if __name__ == "__main__":
    run(main)
