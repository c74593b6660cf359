"""What the integration tests share beyond the session's servers: a broker namespace per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from shared.broker import Publisher, Topology
from tests.support.analyzer import purge, watching
from tests.support.topology import private_topology


@pytest.fixture
async def topology(amqp_url: str, namespace: str) -> AsyncIterator[Topology]:
    """A namespace of this test's own, deleted after it: queues start empty and nothing the test
    publishes reaches another test's consumers."""
    async with private_topology(amqp_url, namespace) as topo:
        yield topo


@pytest.fixture
async def analyzer_env(
    amqp_url: str, topology: Topology, pool: asyncpg.Pool, database_url: str
) -> AsyncIterator[dict[str, Any]]:
    """What an analyzer test runs against: its namespace emptied, a publisher, a watcher of
    contact.scored."""
    await purge(amqp_url, topology)
    # The analyzer analyses live events of connected pages only (DESIGN §2).
    await pool.execute("INSERT INTO pages (id, name) VALUES ('P1', 'Shop') ON CONFLICT DO NOTHING")
    publisher = Publisher(amqp_url, topology)
    async with watching(amqp_url, topology) as watcher:
        yield {
            "amqp_url": amqp_url,
            "topology": topology,
            "pool": pool,
            "database_url": database_url,
            "publisher": publisher,
            "watcher": watcher,
        }
    await publisher.close()
