"""Runs the analyzer in-process over the real broker and database, and watches contact.scored.

Integration tests and the bench/ scripts use it: the handler runs under the real Consumer,
talks to a fake LLM over HTTP, and its contact.scored messages are collected from a private queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg

from services.analyzer.__main__ import consumer, limits, scorer
from services.analyzer.consumer import Analyzer, NameLookup
from services.analyzer.settings import AnalyzerSettings
from shared import messages
from shared.broker import Publisher, Topology, declare_topology
from shared.messages import ContactScored


@dataclass
class ScoredWatcher:
    """Collects every contact.scored published in a namespace, with its arrival time."""

    amqp_url: str
    topology: Topology
    items: list[ContactScored] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    bodies: list[int] = field(default_factory=list)  # items per AMQP message, in arrival order
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            batch = bool((message.headers or {}).get("batch"))
            decoded = messages.decode(ContactScored, message.body, batch=batch)
            now = asyncio.get_running_loop().time()
            async with self._changed:
                self.items.extend(decoded)
                self.arrived.extend(now for _ in decoded)
                self.bodies.append(len(decoded))
                self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[list[ContactScored]], bool], timeout: float = 20
    ) -> list[ContactScored]:
        """Wait until `predicate(items)` holds; returns the items (raises TimeoutError)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self.items))
        return list(self.items)

    async def wait_count(self, count: int, timeout: float = 20) -> list[ContactScored]:
        return await self.wait_for(lambda items: len(items) >= count, timeout)

    def of(self, contact_id: str) -> list[ContactScored]:
        return [s for s in self.items if s.contact_id == contact_id]


@contextlib.asynccontextmanager
async def watching(amqp_url: str, topology: Topology) -> AsyncIterator[ScoredWatcher]:
    watcher = ScoredWatcher(amqp_url, topology)
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        channel = await conn.channel()
        events = await declare_topology(channel, topology)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(events, routing_key=ContactScored.ROUTING_KEY)
        await queue.consume(watcher._on_message)
        yield watcher


async def purge(amqp_url: str, topology: Topology) -> None:
    """Empty the analyzer's queue (a test's leftovers must not reach the next test)."""
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        channel = await conn.channel()
        await declare_topology(channel, topology)
        for name in (topology.queue("analyzer"), topology.dead(topology.queue("analyzer"))):
            queue = await channel.get_queue(name, ensure=False)
            await queue.purge()


@contextlib.asynccontextmanager
async def analyzer_running(
    *, pool: asyncpg.Pool, database_url: str, amqp_url: str, topology: Topology,
    llm_base_url: str | None = None, names: NameLookup | None = None,
    publisher: Publisher | None = None, **overrides: Any,
) -> AsyncIterator[Analyzer]:
    """The analyzer consuming `{ns}.analyzer` until the block ends (stops gracefully)."""
    settings_args: dict[str, Any] = {
        "database_url": database_url, "amqp_url": amqp_url,
        "broker_namespace": topology.namespace, "analyzer_debounce_s": 0.2,
        "llm_timeout_s": 0.5, "llm_backoff_s": 0.01,
    }
    if llm_base_url is not None:
        settings_args.update(openai_api_key="sk-test-key-0123456789abcdef",
                             openai_base_url=llm_base_url)
    settings = AnalyzerSettings(**{**settings_args, **overrides})
    own_publisher = publisher is None
    publisher = publisher or Publisher(amqp_url, topology)
    scoring = scorer(settings)
    analyzer = Analyzer(pool=pool, publisher=publisher, scorer=scoring, limits=limits(settings),
                        names=names)
    service = consumer(settings, analyzer)
    task = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(20):
            await service.ready.wait()
        yield analyzer
    finally:
        service.stop()
        await task
        await scoring.close()
        if own_publisher:
            await publisher.close()
