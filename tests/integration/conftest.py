"""What the integration tests share beyond the session's servers: a broker namespace per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.broker import Topology
from tests.support.topology import private_topology


@pytest.fixture
async def topology(amqp_url: str, namespace: str) -> AsyncIterator[Topology]:
    """A namespace of this test's own, deleted after it: queues start empty and nothing the test
    publishes reaches another test's consumers."""
    async with private_topology(amqp_url, namespace) as topo:
        yield topo
