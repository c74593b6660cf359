"""The confirm batcher: requests waiting together share one publish; a failure fails them all."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from services.webhook.batcher import ConfirmBatcher
from shared.broker import MessagePublisher
from shared.errors import BrokerUnavailable
from shared.messages import ChatMessage, ConversationUpdated, WireMessage

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def event(n: int, platform: str = "messenger") -> tuple[ConversationUpdated, str]:
    msg = ChatMessage(mid=f"m_{n}", sent_at=NOW, text="hi")
    return ConversationUpdated(page_id="P", platform=platform, contact_id=f"C{n}", messages=[msg]), f"id{n}"


class GatedPublisher:
    """Stands in for the broker: records each publish and confirms when the test opens the gate."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, object, str]] = []
        self.gate = asyncio.Event()
        self.fail = fail

    async def publish(
        self, message: WireMessage, *, routing_key: str | None = None, message_id: str | None = None
    ) -> None:
        await self._record(routing_key, message, message_id)

    async def publish_batch(self, batch: Sequence[WireMessage], **meta: str | None) -> None:
        await self._record(meta.get("routing_key"), list(batch), meta.get("message_id"))

    async def _record(self, routing_key: str | None, item: object, message_id: str | None) -> None:
        self.calls.append((routing_key or "", item, message_id or ""))
        await self.gate.wait()
        if self.fail:
            raise BrokerUnavailable("RabbitMQ is unreachable: ConnectionRefusedError")


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
    keys = sorted((key, len(item) if isinstance(item, list) else 1) for key, item, _ in publisher.calls)
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
    assert sum(len(i) if isinstance(i, list) else 1 for _, i, _ in publisher.calls) == 4


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
        ids.append(publisher.calls[0][2])
    assert ids[0] == ids[1]
    if size == 1:
        assert ids[0] == "id0"
