"""`python -m services.analyzer`: consume conversation.updated.* and publish contact.scored."""

from __future__ import annotations

import asyncio
import contextlib
import functools

from services.analyzer.consumer import handle
from services.analyzer.settings import DEFAULT_METRICS_PORT, AnalyzerSettings
from shared import db, logging
from shared.broker import Consumer, Publisher, Topology
from shared.messages import ConversationUpdated
from shared.runtime import run, serve_consumer
from shared.settings import load


async def main(stop: asyncio.Event) -> None:
    settings = load(AnalyzerSettings)
    logging.configure(
        service="analyzer", fmt=settings.log_format, level=settings.log_level,
        secrets=settings.secrets(),
    )
    log = logging.get_logger("leadsync.analyzer")
    if not settings.llm_enabled:
        log.info("analyzer.fallback_only", reason="OPENAI_API_KEY is not set")
    topology = Topology(settings.broker_namespace)
    async with contextlib.AsyncExitStack() as stack:
        pool = await db.create_pool(settings.database_url, min_size=0)
        stack.push_async_callback(pool.close)
        publisher = Publisher(settings.amqp_url.get_secret_value(), topology)
        stack.push_async_callback(publisher.close)
        consumer = Consumer(
            amqp_url=settings.amqp_url.get_secret_value(),
            topology=topology,
            service="analyzer",
            model=ConversationUpdated,
            handler=functools.partial(handle, pool=pool, publisher=publisher),
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
