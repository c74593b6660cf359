"""`python -m services.assigner`: consume contact.scored and place contacts in stages."""

from __future__ import annotations

import asyncio
import contextlib
import functools

from services.assigner.consumer import JobKinds, handle
from services.assigner.pipelines import PipelineCache
from services.assigner.settings import DEFAULT_METRICS_PORT, AssignerSettings
from shared import db, logging
from shared.broker import Consumer, Topology
from shared.messages import ContactScored
from shared.runtime import run, serve_consumer
from shared.settings import load


async def main(stop: asyncio.Event) -> None:
    settings = load(AssignerSettings)
    logging.configure(
        service="assigner", fmt=settings.log_format, level=settings.log_level,
        secrets=settings.secrets(),
    )
    async with contextlib.AsyncExitStack() as stack:
        pool = await db.create_pool(settings.database_url, min_size=0)
        stack.push_async_callback(pool.close)

        async def database() -> bool:
            return await pool.fetchval("SELECT 1") == 1

        consumer = Consumer(
            amqp_url=settings.amqp_url.get_secret_value(),
            topology=Topology(settings.broker_namespace),
            service="assigner",
            model=ContactScored,
            handler=functools.partial(handle, pool=pool, cache=PipelineCache(), kinds=JobKinds()),
            prefetch=settings.prefetch,
            probe=database,
            retry_budget_s=settings.retry_budget_s,
        )

        async def broker() -> bool:
            return consumer.connected

        await serve_consumer(
            consumer, stop=stop, port=settings.metrics_port_or(DEFAULT_METRICS_PORT),
            checks={"broker": broker, "database": database},
        )


if __name__ == "__main__":
    run(main)
