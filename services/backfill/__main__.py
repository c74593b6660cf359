"""`python -m services.backfill`: run backfill jobs from backfill.requested."""

from __future__ import annotations

import asyncio
import contextlib
import functools

from services.backfill.settings import DEFAULT_METRICS_PORT, BackfillSettings
from services.backfill.worker import handle
from shared import db, logging
from shared.broker import Consumer, Topology
from shared.messages import BackfillRequested
from shared.runtime import run, serve_consumer
from shared.settings import load


async def main(stop: asyncio.Event) -> None:
    settings = load(BackfillSettings)
    logging.configure(
        service="backfill", fmt=settings.log_format, level=settings.log_level,
        secrets=settings.secrets(),
    )
    async with contextlib.AsyncExitStack() as stack:
        pool = await db.create_pool(settings.database_url, min_size=0)
        stack.push_async_callback(pool.close)
        consumer = Consumer(
            amqp_url=settings.amqp_url.get_secret_value(),
            topology=Topology(settings.broker_namespace),
            service="backfill",
            model=BackfillRequested,
            handler=functools.partial(handle, pool=pool),
            prefetch=settings.prefetch,
        )

        async def database() -> bool:
            return await pool.fetchval("SELECT 1") == 1

        async def broker() -> bool:
            return consumer.connected

        await serve_consumer(
            consumer, stop=stop, port=settings.metrics_port_or(DEFAULT_METRICS_PORT),
            checks={"broker": broker, "database": database},
        )


if __name__ == "__main__":
    run(main)
