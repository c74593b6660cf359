"""Dead-letter queues: read them without losing anything, and replay messages to `{ns}.events`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from shared import messages
from shared.broker import SERVICES_QUEUES, Publisher, Topology
from shared.errors import DeadLetterError, DecodeError

# Headers that describe a failure, not the message: stripped before a replay.
_FAILURE_HEADERS = ("x-death", "x-delivery-count", "x-first-death-", "x-last-death-", "x-leadsync-")
# What each queue consumes, to recover a routing key from the body when no header holds it.
_MODELS: dict[str, type[messages.WireMessage]] = {
    "analyzer": messages.ConversationUpdated,
    "assigner": messages.ContactScored,
    "backfill": messages.BackfillRequested,
}


@dataclass(frozen=True)
class DeadLetter:
    """What an operator needs to know about one dead message."""

    message_id: str | None
    reason: str
    deliveries: int | None
    error: str
    failed_at: datetime | None
    routing_key: str | None

    def age_s(self, now: datetime) -> float | None:
        return None if self.failed_at is None else max((now - self.failed_at).total_seconds(), 0.0)


def resolve_queue(topology: Topology, name: str) -> str:
    """`analyzer`, `{ns}.analyzer` or `{ns}.analyzer.dead` → `{ns}.analyzer.dead`."""
    for service in SERVICES_QUEUES:
        queue = topology.queue(service)
        if name in (service, queue, topology.dead(queue)):
            return topology.dead(queue)
    choices = ", ".join(SERVICES_QUEUES)
    raise DeadLetterError(
        f"unknown queue {name!r}: use one of {choices} (or its full name in namespace {topology.namespace!r})"
    )


def _service_of(topology: Topology, dead_queue: str) -> str:
    return dead_queue.removeprefix(f"{topology.namespace}.").removesuffix(".dead")


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return _as_datetime(datetime.fromisoformat(value))
    return None


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def describe(
    headers: dict[str, Any],
    *,
    message_id: str | None,
    body: bytes = b"",
    timestamp: datetime | None = None,
    service: str | None = None,
) -> DeadLetter:
    """Read our own failure headers, or RabbitMQ's x-death when the broker dead-lettered it."""
    if "x-leadsync-error" in headers:
        return DeadLetter(
            message_id=message_id,
            reason=_text(headers.get("x-leadsync-error-type", "error")),
            deliveries=_int(headers.get("x-leadsync-deliveries")),
            error=_text(headers["x-leadsync-error"]),
            failed_at=_as_datetime(_text(headers.get("x-leadsync-failed-at", ""))) or timestamp,
            routing_key=_text(headers.get("x-leadsync-routing-key") or "")
            or _routing_key_from_body(body, service),
        )
    deaths = headers.get("x-death") or []
    first = deaths[0] if deaths and isinstance(deaths[0], dict) else {}
    keys = first.get("routing-keys") or []
    reason = _text(first.get("reason", "unknown"))
    return DeadLetter(
        message_id=message_id,
        reason=reason,
        # For delivery_limit RabbitMQ counts dead-letterings, not deliveries; the header has both.
        deliveries=_int(headers.get("x-delivery-count")) or _int(first.get("count")),
        error=f"dead-lettered by RabbitMQ ({reason}); the consumer's error was not recorded",
        failed_at=_as_datetime(first.get("time")) or timestamp,
        routing_key=(_text(keys[0]) if keys else None) or _routing_key_from_body(body, service),
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _routing_key_from_body(body: bytes, service: str | None) -> str | None:
    model = _MODELS.get(service or "")
    if model is None or not body:
        return None
    try:
        items = messages.decode(model, body, batch=body.lstrip().startswith(b"["))
    except DecodeError:
        return None
    return items[0].routing_key if items else None


def replay_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """The message's own headers (v, batch, …) without the record of its failure."""
    return {k: v for k, v in headers.items() if not k.startswith(_FAILURE_HEADERS)}


async def _hold(channel: AbstractChannel, queue: str, limit: int) -> list[AbstractIncomingMessage]:
    """Up to `limit` messages taken unacked; closing the channel puts them all back."""
    q = await channel.get_queue(queue, ensure=False)
    held: list[AbstractIncomingMessage] = []
    while len(held) < limit:
        message = await q.get(no_ack=False, fail=False)
        if message is None:
            break
        held.append(message)
    return held


async def _queue_size(channel: AbstractChannel, queue: str) -> int:
    try:
        declared = await channel.declare_queue(queue, passive=True)
    except aiormq.exceptions.ChannelNotFoundEntity:
        raise DeadLetterError(
            f"queue {queue!r} does not exist: no service has started in this BROKER_NAMESPACE yet"
        ) from None
    return int(declared.declaration_result.message_count or 0)


async def inspect(
    amqp_url: str,
    topology: Topology,
    name: str,
    *,
    limit: int,
) -> tuple[str, int, list[DeadLetter]]:
    """(queue, how many it holds, up to `limit` of them described); nothing is removed."""
    queue = resolve_queue(topology, name)
    service = _service_of(topology, queue)
    conn = await aio_pika.connect(amqp_url, timeout=10)
    async with conn:
        channel = await conn.channel()
        count = await _queue_size(channel, queue)
        held = await _hold(channel, queue, min(limit, count))
        letters = [
            describe(
                dict(m.headers or {}),
                message_id=m.message_id,
                body=m.body,
                timestamp=_as_datetime(m.timestamp),
                service=service,
            )
            for m in held
        ]
        await channel.close()  # nothing was acked: every message goes back to the queue
    return queue, count, letters


@dataclass
class ReplayResult:
    queue: str
    replayed: int
    left: int
    skipped: list[str]


async def replay(amqp_url: str, topology: Topology, name: str, *, limit: int | None) -> ReplayResult:
    """Publish dead messages back to `{ns}.events` (confirmed), then remove each from the queue.

    Only the messages present at the start are taken, so a message that fails again while
    this runs is not replayed twice.
    """
    queue = resolve_queue(topology, name)
    service = _service_of(topology, queue)
    publisher = Publisher(amqp_url, topology, timeout=10)
    await publisher.connect()
    conn = await aio_pika.connect(amqp_url, timeout=10)
    replayed, skipped = 0, []
    try:
        async with conn:
            channel = await conn.channel()
            count = await _queue_size(channel, queue)
            todo = count if limit is None else min(limit, count)
            q = await channel.get_queue(queue, ensure=False)
            for _ in range(todo):
                message = await q.get(no_ack=False, fail=False)
                if message is None:
                    break
                headers = dict(message.headers or {})
                letter = describe(headers, message_id=message.message_id, body=message.body, service=service)
                if not letter.routing_key:
                    skipped.append(message.message_id or "(no id)")
                    continue  # held unacked until the channel closes, then back in the queue
                await publisher.publish_raw(_rebuilt(message, headers), letter.routing_key)
                await message.ack()
                replayed += 1
            await channel.close()
            left = await _queue_size(await conn.channel(), queue)
    finally:
        await publisher.close()
    return ReplayResult(queue, replayed, left, skipped)


def _rebuilt(message: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
    return aio_pika.Message(
        body=message.body,
        content_type=message.content_type or "application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        headers=replay_headers(headers),
        timestamp=message.timestamp,
    )
