"""The confirm batcher: requests waiting together share one publish; a failure fails them all."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import aio_pika
import pytest

from services.webhook.batcher import ConfirmBatcher
from shared.broker import Encoded, MessagePublisher, build_encoded
from shared.errors import BrokerUnavailable
from shared.messages import ChatMessage, ConversationUpdated, decode, encode

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def event(n: int, platform: str = "messenger") -> Encoded:
    msg = ChatMessage(mid=f"m_{n}", sent_at=NOW, text="hi")
    update = ConversationUpdated(page_id="P", platform=platform, contact_id=f"C{n}", messages=[msg])
    return Encoded(update.routing_key, encode(update), f"id{n}")


class GatedPublisher:
    """Stands in for the broker: records each AMQP message it is given (built by the publisher's
    own function) and confirms when the test opens the gate."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, aio_pika.Message]] = []
        self.gate = asyncio.Event()
        self.fail = fail

    async def publish_encoded(self, batch: Sequence[Encoded], *, message_id: str | None = None) -> None:
        await self._record(batch[0].routing_key, build_encoded(batch, message_id=message_id))

    async def _record(self, routing_key: str, message: aio_pika.Message) -> None:
        self.calls.append((routing_key, message))
        await self.gate.wait()
        if self.fail:
            raise BrokerUnavailable("RabbitMQ is unreachable: ConnectionRefusedError")


def updates_in(message: aio_pika.Message) -> int:
    batch = bool((message.headers or {}).get("batch"))
    return len(decode(ConversationUpdated, message.body, batch=batch))


def as_publisher(fake: GatedPublisher) -> MessagePublisher:
    return fake  # mypy fails here when the stand-in drifts from the publisher's protocol


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_requests_waiting_on_busy_slots_share_one_batch_per_routing_key():
    publisher = GatedPublisher()
    batcher = ConfirmBatcher(as_publisher(publisher), max_inflight=1)
    batcher.start()
    first = asyncio.create_task(batcher.submit([event(0)]))
    await settle()
    assert len(publisher.calls) == 1  # idle: published at once, as a plain message
    later = [
        asyncio.create_task(batcher.submit([event(n, p)]))
        for n, p in ((1, "messenger"), (2, "instagram"), (3, "messenger"))
    ]
    await settle()
    assert len(publisher.calls) == 1 and not any(t.done() for t in later)
    publisher.gate.set()
    await asyncio.gather(first, *later)
    keys = sorted((key, updates_in(message)) for key, message in publisher.calls)
    assert keys == [
        ("conversation.updated.instagram", 1),
        ("conversation.updated.messenger", 1),
        ("conversation.updated.messenger", 2),
    ]
    await batcher.close()


async def test_a_failed_publish_fails_every_request_in_it():
    publisher = GatedPublisher(fail=True)
    batcher = ConfirmBatcher(as_publisher(publisher), max_inflight=1)
    batcher.start()
    waiting = [asyncio.create_task(batcher.submit([event(n)])) for n in range(3)]
    await settle()
    publisher.gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, BrokerUnavailable) for r in results)
    await batcher.close()


async def test_close_answers_every_waiting_request_first():
    publisher = GatedPublisher()
    batcher = ConfirmBatcher(as_publisher(publisher), max_inflight=1)
    batcher.start()
    waiting = [asyncio.create_task(batcher.submit([event(n)])) for n in range(4)]
    await settle()
    closing = asyncio.create_task(batcher.close())
    await settle()
    assert not closing.done()
    publisher.gate.set()
    await closing
    assert all(t.done() and t.exception() is None for t in waiting)
    assert sum(updates_in(message) for _, message in publisher.calls) == 4


@pytest.mark.parametrize("size", [1, 5])
async def test_batch_ids_are_deterministic(size):
    ids = []
    for _ in range(2):
        publisher = GatedPublisher()
        publisher.gate.set()
        batcher = ConfirmBatcher(as_publisher(publisher), max_inflight=1)
        batcher.start()
        await batcher.submit([event(n) for n in range(size)])
        await batcher.close()
        ids.append(publisher.calls[0][1].message_id)
    assert ids[0] == ids[1]
    if size == 1:
        assert ids[0] == "id0"
