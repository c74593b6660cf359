"""What the webhook integration tests share: the app in-process, a probe queue, a TCP proxy."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import aio_pika
import asyncpg
import httpx
from prometheus_client import generate_latest

from services.webhook.app import create_app
from services.webhook.settings import WebhookSettings
from shared.broker import Publisher
from shared.messages import ConversationUpdated, decode
from tests.support import secrets as test_secrets

SECRETS = (test_secrets.APP_SECRET.encode(), test_secrets.INSTAGRAM_APP_SECRET.encode())
VERIFY_TOKEN = test_secrets.VERIFY_TOKEN


def webhook_settings(database_url: str, amqp_url: str, namespace: str) -> WebhookSettings:
    return WebhookSettings(
        database_url=database_url,
        amqp_url=amqp_url,
        broker_namespace=namespace,
        meta_app_secret=",".join(s.decode() for s in SECRETS),
        meta_verify_token=VERIFY_TOKEN,
        admin_token=test_secrets.ADMIN_TOKEN,
    )


def metrics_text() -> str:
    """What this process's /metrics shows (the webhook serves it on METRICS_PORT, not on PORT)."""
    return generate_latest().decode()


@contextlib.asynccontextmanager
async def webhook_client(
    settings: WebhookSettings, publisher: Publisher, pool: asyncpg.Pool
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with its lifespan (batcher, account cache) driven in this event loop."""
    app = create_app(settings, publisher=publisher, pool=pool)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://webhook") as client,
    ):
        yield client


class Probe:
    """A private queue bound to every routing key of `{ns}.events`: sees everything published."""

    def __init__(self, channel: aio_pika.abc.AbstractChannel, queue: aio_pika.abc.AbstractQueue):
        self._channel = channel
        self.queue = queue

    async def drain(self) -> list[aio_pika.abc.AbstractIncomingMessage]:
        got = []
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            got.append(message)
        return got

    async def updates(self) -> list[ConversationUpdated]:
        """Every ConversationUpdated published since the last call (batches unpacked)."""
        return [
            item
            for m in await self.drain()
            for item in decode(ConversationUpdated, m.body, batch=bool((m.headers or {}).get("batch")))
        ]


@contextlib.asynccontextmanager
async def probe(amqp_url: str, namespace: str) -> AsyncIterator[Probe]:
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        channel = await conn.channel()
        exchange = await channel.declare_exchange(
            f"{namespace}.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(f"probe-{uuid.uuid4().hex[:8]}", exclusive=True)
        await queue.bind(exchange, routing_key="#")
        yield Probe(channel, queue)


class TcpProxy:
    """A loopback TCP relay to RabbitMQ that a test can cut (every connection dropped) and restore."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)
        self._writers.difference_update((writer, up_writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.transport.abort()
