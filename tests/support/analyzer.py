"""Runs the analyzer in-process over the real broker and database, and watches contact.scored.

Integration tests and the bench/ scripts use it: the handler runs under the real Consumer,
talks to a fake LLM over HTTP, and its contact.scored messages are collected from a private queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import aio_pika
import asyncpg

from services.analyzer.consumer import Analyzer, NameLookup
from services.analyzer.service import build
from services.analyzer.settings import AnalyzerSettings
from shared import messages
from shared.broker import Consumer, Publisher, Topology, declare_topology
from shared.messages import ChatMessage, ContactScored, ConversationUpdated
from tests.support.topology import queue_depth


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
    *,
    pool: asyncpg.Pool,
    database_url: str,
    amqp_url: str,
    topology: Topology,
    llm_base_url: str | None = None,
    names: NameLookup | None = None,
    publisher: Publisher | None = None,
    **overrides: Any,
) -> AsyncIterator[Analyzer]:
    """The analyzer consuming `{ns}.analyzer` until the block ends (stops gracefully)."""
    settings_args: dict[str, Any] = {
        "database_url": database_url,
        "amqp_url": amqp_url,
        "broker_namespace": topology.namespace,
        "analyzer_debounce_s": 0.2,
        "llm_timeout_s": 0.5,
        "llm_backoff_s": 0.01,
    }
    if llm_base_url is not None:
        settings_args.update(openai_api_key="sk-test-key-0123456789abcdef", openai_base_url=llm_base_url)
    settings = AnalyzerSettings(**{**settings_args, **overrides})
    async with contextlib.AsyncExitStack() as stack:
        if publisher is None:
            publisher = Publisher(amqp_url, topology)
            stack.push_async_callback(publisher.close)
        # No Graph name lookups unless the test brings its own: a lookup that knows no one.
        service = await build(
            settings, stack, pool=pool, publisher=publisher, names=names or (lambda *_: None)
        )
        consumer = cast(Consumer[ConversationUpdated], service.consumer)
        task = asyncio.create_task(consumer.run())
        try:
            async with asyncio.timeout(20):
                await consumer.ready.wait()
            yield service.analyzer
        finally:
            consumer.stop()
            await task


# What the analyzer integration tests share: events of one conversation, running the analyzer
# on the `analyzer_env` fixture (tests/integration/conftest.py), jobs to settle.
T0 = datetime.now(UTC) - timedelta(minutes=30)


def run(analyzer_env, **kwargs):
    return analyzer_running(
        pool=analyzer_env["pool"],
        database_url=analyzer_env["database_url"],
        amqp_url=analyzer_env["amqp_url"],
        topology=analyzer_env["topology"],
        **kwargs,
    )


def uid(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def event(
    contact: str,
    *texts: str,
    page: str = "P1",
    start: int = 0,
    job_id: str | None = None,
    origin: str = "webhook",
    name: str | None = "Ana",
    from_page: bool = False,
    **msg: object,
) -> ConversationUpdated:
    return ConversationUpdated(
        page_id=page,
        platform="messenger",
        contact_id=contact,
        contact_name=name,
        origin=origin,
        job_id=job_id,
        messages=[
            ChatMessage(
                mid=f"{contact}_m{start + i}",
                text=t,
                from_page=from_page,
                sent_at=T0 + timedelta(seconds=start + i),
                **msg,
            )
            for i, t in enumerate(texts)
        ],
    )


async def queue_empty(analyzer_env) -> bool:
    return await queue_depth(analyzer_env["amqp_url"], analyzer_env["topology"].queue("analyzer")) == 0


async def connected(pool, page: str) -> str:
    """The page with a row in `pages`: the analyzer analyses live events of connected pages."""
    await pool.execute("INSERT INTO pages (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING", page)
    return page


async def new_job(pool, page: str, status: str = "IN_PROGRESS") -> str:
    await connected(pool, page)
    return str(
        await pool.fetchval(
            "INSERT INTO jobs (page_id, kind, status, started_at) VALUES ($1, 'FULL', $2, now()) "
            "RETURNING id",
            page,
            status,
        )
    )
