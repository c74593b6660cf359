"""The broker plumbing against the real RabbitMQ: topology, confirms, retries, dead letters, stop."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import aio_pika
import pytest

from shared.broker import DELIVERY_LIMIT, RETRIES, Consumer, Delivery, Publisher, declare_topology
from shared.circuit import CIRCUIT_OPEN
from shared.errors import BrokerUnavailable, PermanentError, PublishNotConfirmed
from shared.headers import header_int, header_text
from shared.messages import BackfillRequested, ContactScored, decode
from shared.messages import encode as messages_encode
from shared.retry import MAX_SAME_ERROR
from tests.support.eventually import eventually
from tests.support.topology import plain_consumer, queue_depth


async def test_topology_can_be_declared_again_at_every_start(amqp_url, topology):
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        for _ in range(2):
            channel = await conn.channel()
            await declare_topology(channel, topology)
        channel = await conn.channel()
        queue = await channel.declare_queue(topology.queue("analyzer"), passive=True)
        assert queue.name == f"{topology.namespace}.analyzer"


async def test_confirmed_publish_reaches_the_bound_queue(amqp_url, topology):
    publisher = Publisher(amqp_url, topology)
    try:
        await publisher.publish(BackfillRequested(job_id="j1"))
        await publisher.publish_batch([BackfillRequested(job_id="j2"), BackfillRequested(job_id="j3")])
    finally:
        await publisher.close()
    assert await queue_depth(amqp_url, topology.queue("backfill")) == 2


async def test_unroutable_publish_raises_instead_of_vanishing(amqp_url, topology):
    publisher = Publisher(amqp_url, topology)
    try:
        with pytest.raises(PublishNotConfirmed):
            await publisher.publish(BackfillRequested(job_id="j1"), routing_key="nobody.listens")
    finally:
        await publisher.close()


async def test_publish_without_a_broker_raises_broker_unavailable(topology):
    publisher = Publisher("amqp://guest:guest@127.0.0.1:1/", topology, timeout=1)
    with pytest.raises(BrokerUnavailable):
        await publisher.publish(BackfillRequested(job_id="j1"))


@contextlib.asynccontextmanager
async def consuming(amqp_url, topology, consumer: Consumer[BackfillRequested]):
    """Run `consumer` while the block publishes through the yielded publisher; stop both after."""
    publisher = Publisher(amqp_url, topology)
    task = asyncio.create_task(consumer.run())
    try:
        yield publisher
    finally:
        consumer.stop()
        await task
        await publisher.close()


async def one_dead_letter(amqp_url, topology) -> bool:
    return await queue_depth(amqp_url, topology.dead(topology.queue("backfill"))) == 1


def _consumer(amqp_url, topology, handler, **kw) -> Consumer[BackfillRequested]:
    return plain_consumer(amqp_url, topology, handler, service="backfill", model=BackfillRequested, **kw)


async def empty(amqp_url, queue: str) -> bool:
    return await queue_depth(amqp_url, queue) == 0


async def dead_letters(amqp_url, topology, queue="backfill") -> list[aio_pika.abc.AbstractIncomingMessage]:
    conn = await aio_pika.connect(amqp_url)
    out = []
    async with conn:
        channel = await conn.channel()
        queue_ = await channel.declare_queue(topology.dead(topology.queue(queue)), passive=True)
        while (msg := await queue_.get(no_ack=True, fail=False)) is not None:
            out.append(msg)
    return out


async def test_the_same_unexpected_error_five_times_dead_letters_it_without_spending_deliveries(
    amqp_url, topology
):
    seen: list[tuple[int, int]] = []
    finals: list[str] = []

    async def handler(delivery: Delivery[BackfillRequested]) -> None:
        seen.append((delivery.attempt, delivery.delivery_count))
        raise RuntimeError("handler bug")

    async def on_final(delivery: Delivery[BackfillRequested], err: BaseException) -> None:
        finals.append(delivery.items[0].job_id)

    consumer = _consumer(amqp_url, topology, handler, on_final_failure=on_final, backoff_scale=0.05)
    async with consuming(amqp_url, topology, consumer) as publisher:
        await publisher.publish(BackfillRequested(job_id="poison"))
        await eventually(lambda: one_dead_letter(amqp_url, topology), what="one dead letter")
    # Five attempts through the delay queues; each came back as a first delivery.
    assert seen == [(n, 1) for n in range(1, MAX_SAME_ERROR + 1)]
    assert finals == ["poison"]
    assert await queue_depth(amqp_url, topology.queue("backfill")) == 0
    [msg] = await dead_letters(amqp_url, topology)
    assert msg.headers["x-leadsync-error"] == "handler bug (the same error 5 times in a row)"
    assert msg.headers["x-leadsync-routing-key"] == "backfill.requested"
    assert decode(BackfillRequested, msg.body)[0].job_id == "poison"


async def test_transient_failures_retry_past_the_delivery_limit_and_then_succeed(amqp_url, topology):
    seen: list[tuple[int, int]] = []

    async def handler(delivery: Delivery[BackfillRequested]) -> None:
        seen.append((delivery.attempt, delivery.delivery_count))
        if len(seen) <= 2 * DELIVERY_LIMIT:
            raise BrokerUnavailable("RabbitMQ did not confirm")

    consumer = _consumer(amqp_url, topology, handler, backoff_scale=0.01)
    async with consuming(amqp_url, topology, consumer) as publisher:
        await publisher.publish(BackfillRequested(job_id="flaky"))
        await eventually(
            lambda: len(seen) == 2 * DELIVERY_LIMIT + 1,
            what="every delivery of the crashing message",
            timeout=30,
        )
        await eventually(lambda: empty(amqp_url, topology.queue("backfill")), what="the backfill queue empty")
    assert [count for _, count in seen] == [1] * (2 * DELIVERY_LIMIT + 1)
    assert [attempt for attempt, _ in seen] == list(range(1, 2 * DELIVERY_LIMIT + 2))
    assert await dead_letters(amqp_url, topology) == []
    assert RETRIES.labels(topology.queue("backfill"), "broker_unavailable")._value.get() == 10


async def test_a_message_failing_past_the_retry_budget_is_dead_lettered(amqp_url, topology):
    async def handler(delivery: Delivery[BackfillRequested]) -> None:
        raise TimeoutError()

    consumer = _consumer(amqp_url, topology, handler, backoff_scale=0.01, retry_budget_s=1.0)
    async with consuming(amqp_url, topology, consumer) as publisher:
        await publisher.publish(BackfillRequested(job_id="slow"))
        await eventually(lambda: one_dead_letter(amqp_url, topology), what="one dead letter")
    [msg] = await dead_letters(amqp_url, topology)
    assert "retry budget of 1s" in (header_text(msg.headers, "x-leadsync-error") or "")
    assert header_int(msg.headers, "x-leadsync-attempt") >= 2


async def test_while_the_database_is_away_the_circuit_holds_messages_without_retries(amqp_url, topology):
    away = True
    handled: list[tuple[str, int, int]] = []
    probes = 0

    async def probe() -> bool:
        nonlocal probes
        probes += 1
        return not away

    async def handler(delivery: Delivery[BackfillRequested]) -> None:
        handled.append((delivery.items[0].job_id, delivery.attempt, delivery.delivery_count))
        if away:
            raise ConnectionRefusedError(111, "Connect call failed")

    consumer = _consumer(amqp_url, topology, handler, probe=probe)
    circuit = consumer.circuit
    assert circuit is not None
    queue = topology.queue("backfill")
    async with consuming(amqp_url, topology, consumer) as publisher:
        await publisher.publish(BackfillRequested(job_id="first"))
        await eventually(lambda: circuit.is_open, what="the circuit open")
        assert CIRCUIT_OPEN.labels(queue)._value.get() == 1
        # Paused: what arrives now waits in the queue, not in a retry loop.
        await publisher.publish_many([(BackfillRequested(job_id=f"later-{i}"), None) for i in range(3)])
        await eventually(lambda: probes >= 3, what="three probes")
        assert [h[0] for h in handled] == ["first"]
        assert await queue_depth(amqp_url, queue) == 3
        away = False
        await eventually(lambda: len(handled) == 5, what="five messages handled")
        await eventually(lambda: empty(amqp_url, queue), what="the queue empty")
    assert not circuit.is_open and CIRCUIT_OPEN.labels(queue)._value.get() == 0
    assert handled[1] == ("first", 2, 1)  # retried in place, no delivery spent
    assert sorted(h[0] for h in handled[2:]) == ["later-0", "later-1", "later-2"]
    assert await dead_letters(amqp_url, topology) == []
    for delay in (topology.delay(queue, s) for s in (1, 2, 4)):
        assert await queue_depth(amqp_url, delay) == 0


async def test_a_final_failure_hook_that_cannot_write_is_retried_before_the_dead_letter(amqp_url, topology):
    hook_calls: list[str] = []

    async def handler(delivery: Delivery[BackfillRequested]) -> None:
        raise PermanentError("unknown job")

    async def on_final(delivery: Delivery[BackfillRequested], err: BaseException) -> None:
        hook_calls.append(str(err))
        if len(hook_calls) < 3:
            raise ConnectionRefusedError(111, "database down")

    consumer = _consumer(amqp_url, topology, handler, on_final_failure=on_final, backoff_scale=0.01)
    async with consuming(amqp_url, topology, consumer) as publisher:
        await publisher.publish(BackfillRequested(job_id="bad"))
        await eventually(lambda: one_dead_letter(amqp_url, topology), what="one dead letter")
    assert hook_calls == ["unknown job"] * 3
    [msg] = await dead_letters(amqp_url, topology)
    assert msg.headers["x-leadsync-error"] == "unknown job"
    assert msg.headers["x-leadsync-error-type"] == "PermanentError"


async def test_permanent_error_dead_letters_at_once(amqp_url, topology):
    attempts: list[int] = []

    async def handler(delivery: Delivery[BackfillRequested]) -> None:
        attempts.append(delivery.delivery_count)
        raise PermanentError("unknown job")

    async with consuming(amqp_url, topology, _consumer(amqp_url, topology, handler)) as publisher:
        await publisher.publish(BackfillRequested(job_id="bad"))
        await eventually(lambda: one_dead_letter(amqp_url, topology), what="one dead letter")
    assert attempts == [1]


async def test_body_of_the_wrong_shape_goes_to_the_dead_letter_queue(amqp_url, topology):
    handled: list[str] = []

    async def handler(delivery: Delivery[BackfillRequested]) -> None:
        handled.append(delivery.items[0].job_id)

    async with consuming(amqp_url, topology, _consumer(amqp_url, topology, handler)) as publisher:
        await publisher.publish_raw(
            aio_pika.Message(b'{"not": "a job"}', content_type="application/json"),
            "backfill.requested",
        )
        await eventually(lambda: one_dead_letter(amqp_url, topology), what="one dead letter")
    assert handled == []


async def test_stop_finishes_the_message_in_flight_before_closing(amqp_url, topology):
    started = asyncio.Event()
    finished: list[str] = []

    async def slow(delivery: Delivery[BackfillRequested]) -> None:
        started.set()
        await asyncio.sleep(0.5)
        finished.append(delivery.items[0].job_id)

    consumer = _consumer(amqp_url, topology, slow)
    publisher = Publisher(amqp_url, topology)
    task = asyncio.create_task(consumer.run())
    try:
        await publisher.publish(BackfillRequested(job_id="in-flight"))
        await asyncio.wait_for(started.wait(), 10)
        consumer.stop()
        await asyncio.wait_for(task, 10)
    finally:
        await publisher.close()
    assert finished == ["in-flight"]
    # Acked before the connection closed: nothing comes back.
    assert await queue_depth(amqp_url, topology.queue("backfill")) == 0


async def test_batch_body_is_handled_as_one_delivery(amqp_url, topology):
    seen: list[list[str]] = []

    async def handler(delivery: Delivery[ContactScored]) -> None:
        seen.append([m.contact_id for m in delivery.items])

    consumer = plain_consumer(amqp_url, topology, handler, service="assigner", model=ContactScored)
    from shared.messages import Analysis

    analysis = Analysis(lead_score=50, lead_status="NEW", confidence=10)
    now = datetime.now(UTC)
    batch = [
        ContactScored(
            page_id="p",
            platform="messenger",
            contact_id=c,
            analysis=analysis,
            analyzed_through=now,
            message_count=1,
        )
        for c in ("a", "b", "c")
    ]
    async with consuming(amqp_url, topology, consumer) as publisher:
        await publisher.publish_batch(batch)
        await eventually(lambda: bool(seen), what="a delivery")
    assert seen == [["a", "b", "c"]]


async def test_a_batch_with_a_permanently_bad_item_splits_and_only_that_item_is_dead_lettered(
    amqp_url, topology
):
    seen: list[list[str]] = []
    finals: list[list[str]] = []
    handled: list[str] = []

    async def handler(delivery: Delivery[BackfillRequested]) -> None:
        ids = [m.job_id for m in delivery.items]
        seen.append(ids)
        if "bad" in ids:
            raise PermanentError("unknown job")
        handled.extend(ids)

    async def final(delivery: Delivery[BackfillRequested], err: BaseException) -> None:
        finals.append([m.job_id for m in delivery.items])

    consumer = _consumer(amqp_url, topology, handler, on_final_failure=final)
    async with consuming(amqp_url, topology, consumer) as publisher:
        await publisher.publish_batch([BackfillRequested(job_id=j) for j in ("j1", "bad", "j2")])
        await eventually(lambda: one_dead_letter(amqp_url, topology), what="one dead letter")
        await eventually(lambda: sorted(handled) == ["j1", "j2"], what="the items handled")
    assert seen[0] == ["j1", "bad", "j2"] and sorted(map(tuple, seen[1:])) == [("bad",), ("j1",), ("j2",)]
    assert finals == [["bad"]]  # the batch's own hook never ran: each item settles alone
    [dead] = await dead_letters(amqp_url, topology)
    assert decode(BackfillRequested, dead.body) == [BackfillRequested(job_id="bad")]
    assert dead.headers["x-leadsync-routing-key"] == "backfill.requested"


async def test_a_batch_with_one_undecodable_item_splits_so_the_others_are_handled(amqp_url, topology):
    handled: list[str] = []

    async def handler(delivery: Delivery[BackfillRequested]) -> None:
        handled.extend(m.job_id for m in delivery.items)

    async with consuming(amqp_url, topology, _consumer(amqp_url, topology, handler)) as publisher:
        await publisher.publish_raw(
            aio_pika.Message(
                b'[{"job_id": "j1"}, {"not": "a job"}, {"job_id": "j2"}]',
                content_type="application/json",
                headers={"v": 1, "batch": True},
            ),
            "backfill.requested",
        )
        await eventually(lambda: one_dead_letter(amqp_url, topology), what="one dead letter")
        await eventually(lambda: sorted(handled) == ["j1", "j2"], what="the items handled")
    [dead] = await dead_letters(amqp_url, topology)
    assert dead.body == b'{"not":"a job"}'


async def test_max_bytes_in_flight_bounds_the_bodies_handled_at_once(amqp_url, topology):
    running, peak, done = 0, 0, []

    async def handler(delivery: Delivery[BackfillRequested]) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        done.append(delivery.items[0].job_id)

    body = len(messages_encode(BackfillRequested(job_id="j00")))
    consumer = _consumer(amqp_url, topology, handler, prefetch=16, max_bytes_in_flight=3 * body)
    async with consuming(amqp_url, topology, consumer) as publisher:
        await publisher.publish_many([(BackfillRequested(job_id=f"j{i:02d}"), None) for i in range(12)])
        await eventually(lambda: len(done) == 12, what="twelve messages handled")
    assert peak == 3
