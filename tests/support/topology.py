"""Broker helpers of the tests: a namespace of one test's own, and how many messages a queue holds."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import aio_pika

from shared.broker import Topology, delete_topology


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
