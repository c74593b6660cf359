"""A broker namespace of one test's own, so messages of other tests never show up in it."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from shared.broker import Topology, delete_topology


@contextlib.asynccontextmanager
async def private_topology(amqp_url: str, namespace: str) -> AsyncIterator[Topology]:
    topology = Topology(f"{namespace}_{uuid.uuid4().hex[:6]}")
    try:
        yield topology
    finally:
        await delete_topology(amqp_url, topology)
