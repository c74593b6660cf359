"""`leadsync dlq list|replay` over the real broker: failed messages are visible and recoverable."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from datetime import UTC, datetime

import aio_pika

from shared.broker import Delivery, Publisher, Topology
from shared.errors import PermanentError
from shared.messages import ChatMessage, ConversationUpdated
from tests.support.eventually import eventually
from tests.support.topology import plain_consumer, queue_depth


def conversation(contact: str, platform: str = "instagram") -> ConversationUpdated:
    return ConversationUpdated(
        page_id="PAGE_DLQ",
        platform=platform,
        contact_id=contact,
        messages=[
            ChatMessage(mid=f"m_{contact}", text="how much?", sent_at=datetime(2026, 11, 1, tzinfo=UTC))
        ],
    )


@contextlib.asynccontextmanager
async def consuming(amqp_url, topology, handler):
    consumer = plain_consumer(amqp_url, topology, handler, service="analyzer", model=ConversationUpdated)
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.ready.wait(), 10)
    try:
        yield consumer
    finally:
        consumer.stop()
        await task


def dlq(env: dict[str, str], topology: Topology, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leadsync", "dlq", *args],
        env={**env, "BROKER_NAMESPACE": topology.namespace},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def fail_permanently(_: Delivery[ConversationUpdated]) -> None:
    raise PermanentError("stage table is missing for page PAGE_DLQ")


async def test_a_failed_message_is_listed_then_replayed_and_consumed(amqp_url, topology, service_env):
    dead = topology.dead(topology.queue("analyzer"))
    publisher = Publisher(amqp_url, topology)
    async with consuming(amqp_url, topology, fail_permanently):
        await publisher.publish(conversation("ig_user_1"))
        await eventually(lambda: _has(amqp_url, dead, 1), what="one dead letter")

    listed = await asyncio.to_thread(dlq, service_env, topology, "list", "analyzer")
    assert listed.returncode == 0, listed.stderr
    assert f"{dead}: 1 dead letter" in listed.stdout
    assert "PermanentError" in listed.stdout
    assert "stage table is missing" in listed.stdout
    assert "conversation.updated.instagram" in listed.stdout
    # Listing removes nothing.
    assert await queue_depth(amqp_url, dead) == 1

    seen: list[Delivery[ConversationUpdated]] = []

    async def accept(delivery: Delivery[ConversationUpdated]) -> None:
        seen.append(delivery)

    async with consuming(amqp_url, topology, accept):
        replayed = await asyncio.to_thread(dlq, service_env, topology, "replay", dead)
        assert replayed.returncode == 0, replayed.stderr
        assert "replayed 1" in replayed.stdout and "0 left" in replayed.stdout
        await eventually(lambda: seen, what="the replayed delivery")
    assert seen[0].items[0].contact_id == "ig_user_1"
    assert seen[0].delivery_count == 1
    assert not any(k.startswith("x-leadsync-") for k in seen[0].headers)
    assert await queue_depth(amqp_url, dead) == 0
    await publisher.close()


async def test_replay_limit_takes_only_that_many(amqp_url, topology, service_env):
    dead = topology.dead(topology.queue("analyzer"))
    publisher = Publisher(amqp_url, topology)
    async with consuming(amqp_url, topology, fail_permanently):
        for i in range(3):
            await publisher.publish(conversation(f"psid_{i}", "messenger"))
        await eventually(lambda: _has(amqp_url, dead, 3), what="three dead letters")
    await publisher.close()

    replayed = await asyncio.to_thread(dlq, service_env, topology, "replay", "analyzer", "--limit", "2")
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 2" in replayed.stdout and "1 left" in replayed.stdout
    # Nobody consumes the main queue here: the two replayed messages wait there.
    assert await queue_depth(amqp_url, topology.queue("analyzer")) == 2
    assert await queue_depth(amqp_url, dead) == 1


async def test_messages_dead_lettered_by_rabbitmq_are_described_from_x_death(amqp_url, topology, service_env):
    queue = topology.queue("analyzer")
    publisher = Publisher(amqp_url, topology)
    await publisher.publish(conversation("ig_user_9"))
    await publisher.close()
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        q = await (await conn.channel()).get_queue(queue)
        message = await q.get(no_ack=False)
        await message.reject(requeue=False)  # the broker dead-letters it with x-death
    await eventually(lambda: _has(amqp_url, topology.dead(queue), 1), what="one dead letter")

    listed = await asyncio.to_thread(dlq, service_env, topology, "list", queue)
    assert listed.returncode == 0, listed.stderr
    assert "rejected" in listed.stdout
    assert "conversation.updated.instagram" in listed.stdout

    replayed = await asyncio.to_thread(dlq, service_env, topology, "replay", "analyzer")
    assert "replayed 1" in replayed.stdout, replayed.stdout + replayed.stderr
    assert await queue_depth(amqp_url, queue) == 1


def test_an_unknown_queue_is_one_clear_line(service_env, topology):
    result = dlq(service_env, topology, "list", "nope")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"leadsync: unknown queue 'nope': use one of analyzer, assigner, backfill "
        f"(or its full name in namespace '{topology.namespace}')"
    ]


async def _has(amqp_url: str, queue: str, count: int) -> bool:
    try:
        return await queue_depth(amqp_url, queue) >= count
    except aio_pika.exceptions.ChannelClosed:
        return False
