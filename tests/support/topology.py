"""Broker helpers of the tests: a namespace of one test's own, and how many messages a queue holds."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika

from shared.broker import Consumer, Topology, delete_topology


@contextlib.asynccontextmanager
async def private_topology(amqp_url: str, namespace: str) -> AsyncIterator[Topology]:
    topology = Topology(f"{namespace}_{uuid.uuid4().hex[:6]}")
    try:
        yield topology
    finally:
        await delete_topology(amqp_url, topology)


async def queue_depth(amqp_url: str, name: str) -> int:
    """Messages ready in a queue, read without consuming them."""
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        queue = await (await conn.channel()).declare_queue(name, passive=True)
        return queue.declaration_result.message_count or 0


def plain_consumer(
    amqp_url: str, topology: Topology, handler: Any, *, service: str, model: Any, prefetch: int = 4, **kw: Any
) -> Consumer[Any]:
    """A `service` consumer of `model` messages on the test's own topology, not yet running; `kw`
    as `Consumer` takes them (the services build theirs from settings: `runtime.consumer_for`)."""
    return Consumer(
        amqp_url=amqp_url,
        topology=topology,
        service=service,
        model=model,
        handler=handler,
        prefetch=prefetch,
        **kw,
    )
