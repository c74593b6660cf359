"""RabbitMQ plumbing: the topology of DESIGN §4, a confirmed publisher, and the consumer runner."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import aio_pika
import aiormq
import orjson
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
)
from prometheus_client import Counter, Histogram

from shared import messages, retry
from shared.circuit import Circuit
from shared.errors import BrokerUnavailable, DeadLettered, PermanentError, PublishNotConfirmed
from shared.headers import header_int
from shared.messages import WireMessage

DELIVERY_LIMIT = 5
# One AMQP message carries at most this many events (DESIGN §4); larger deliveries are split.
MAX_EVENTS_PER_MESSAGE = 500
# Consumers are not racing Meta's 5 s answer window: under load a confirm may take longer,
# and giving up early only turns a slow publish into a redelivery.
CONSUMER_CONFIRM_TIMEOUT = 30.0
SERVICES_QUEUES: dict[str, tuple[str, ...]] = {
    "analyzer": ("conversation.updated.*",),
    "assigner": ("contact.scored",),
    "backfill": ("backfill.requested",),
}

log = structlog.get_logger("leadsync.broker")

PUBLISH_SECONDS = Histogram(
    "leadsync_broker_publish_seconds",
    "Time from publish to RabbitMQ's confirm, per confirmed publish call.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HANDLED = Counter(
    "leadsync_broker_messages_total",
    "Messages settled by a consumer, by queue and outcome (ack, retry, dead, split: a batch sent "
    "back as one message per item).",
    ["queue", "outcome"],
)
HANDLE_SECONDS = Histogram(
    "leadsync_broker_handle_seconds", "Time spent handling one delivery, by queue.", ["queue"]
)
RETRIES = Counter(
    "leadsync_broker_retries_total",
    "Failed deliveries that will be tried again, by queue and reason (database_unavailable, "
    "database_conflict, broker_unavailable, timeout, retryable, error).",
    ["queue", "reason"],
)
RETRY_AGE = Histogram(
    "leadsync_broker_retry_age_seconds",
    "Time from a message's first failure until it was finally settled (handled or dead-lettered).",
    ["queue"],
    buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
)


@dataclass(frozen=True)
class Topology:
    """Every exchange and queue name, derived from BROKER_NAMESPACE."""

    namespace: str

    @property
    def events(self) -> str:
        return f"{self.namespace}.events"

    @property
    def dlx(self) -> str:
        return f"{self.namespace}.dlx"

    def queue(self, service: str) -> str:
        return f"{self.namespace}.{service}"

    @staticmethod
    def dead(queue: str) -> str:
        return f"{queue}.dead"

    @staticmethod
    def delay(queue: str, step_s: int) -> str:
        """The delay queue that returns a retried message to `queue` after `step_s` seconds."""
        return f"{queue}.delay.{step_s}s"

    def all_queues(self) -> list[str]:
        names = [self.queue(s) for s in SERVICES_QUEUES]
        delays = [self.delay(q, step) for q in names for step in retry.STEPS_S]
        return names + [self.dead(q) for q in names] + delays


async def declare_topology(channel: AbstractChannel, topology: Topology) -> AbstractExchange:
    """Declare exchanges, queues and bindings; safe to repeat at every start."""
    events = await channel.declare_exchange(topology.events, aio_pika.ExchangeType.TOPIC, durable=True)
    dlx = await channel.declare_exchange(topology.dlx, aio_pika.ExchangeType.DIRECT, durable=True)
    for service, keys in SERVICES_QUEUES.items():
        name = topology.queue(service)
        dead = await channel.declare_queue(
            topology.dead(name), durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dead.bind(dlx, routing_key=name)
        queue = await channel.declare_queue(
            name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": topology.dlx,
                "x-dead-letter-routing-key": name,
            },
        )
        for key in keys:
            await queue.bind(events, routing_key=key)
        for step in retry.STEPS_S:
            # Retries wait here; at the end of the TTL (or a shorter per-message expiration)
            # the broker dead-letters them straight back to the queue (default exchange).
            await channel.declare_queue(
                topology.delay(name, step),
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-message-ttl": step * 1000,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": name,
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            )
    return events


async def delete_topology(amqp_url: str, topology: Topology) -> None:
    """Remove a namespace's exchanges and queues (tests use one namespace per session)."""
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        for name in topology.all_queues():
            channel = await conn.channel()
            with contextlib.suppress(aiormq.exceptions.AMQPError):
                await channel.queue_delete(name)
            with contextlib.suppress(aiormq.exceptions.AMQPError):
                await channel.close()
        for name in (topology.events, topology.dlx):
            channel = await conn.channel()
            with contextlib.suppress(aiormq.exceptions.AMQPError):
                await channel.exchange_delete(name)
            with contextlib.suppress(aiormq.exceptions.AMQPError):
                await channel.close()


_CONNECTION_ERRORS = (
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    aiormq.exceptions.ChannelClosed,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
    RuntimeError,  # aio-pika raises it for operations on a closed connection
)


def build_message(
    item: WireMessage | Sequence[WireMessage],
    *,
    message_id: str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> aio_pika.Message:
    """An AMQP message of the contract: JSON, persistent, deterministic id, header v; a sequence
    is one batch message (header batch=true) of messages of one type."""
    batch = not isinstance(item, WireMessage)
    items: Sequence[WireMessage] = item if not isinstance(item, WireMessage) else (item,)
    if message_id is None:
        message_id = (
            messages.content_id([messages.message_id(m) for m in items])
            if batch
            else messages.message_id(items[0])
        )
    version = type(items[0]).SCHEMA_VERSION if items else 1
    return _amqp_message(messages.encode(item), message_id, version, batch=batch, headers=headers)


class Encoded(NamedTuple):
    """A message already in its wire JSON (DESIGN §5), with its routing key and deterministic id:
    what the webhook builds, so that its hot path encodes each update once and without models."""

    routing_key: str
    body: bytes
    message_id: str
    schema_version: int = 1


def build_encoded(batch: Sequence[Encoded], *, message_id: str | None = None) -> aio_pika.Message:
    """One AMQP message of encoded messages of one type: the message itself when there is one,
    else a batch message (a JSON list, header batch=true) whose id is a hash of theirs."""
    if len(batch) == 1:
        [only] = batch
        return _amqp_message(only.body, message_id or only.message_id, only.schema_version, batch=False)
    body = b"[" + b",".join(e.body for e in batch) + b"]"
    message_id = message_id or messages.content_id([e.message_id for e in batch])
    return _amqp_message(body, message_id, batch[0].schema_version, batch=True)


def _amqp_message(
    body: bytes, message_id: str, version: int, *, batch: bool, headers: Mapping[str, Any] | None = None
) -> aio_pika.Message:
    all_headers: dict[str, Any] = {"v": version}
    if batch:
        all_headers["batch"] = True
    if headers:
        all_headers.update(headers)
    return aio_pika.Message(
        body=body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        headers=all_headers,
        timestamp=datetime.now(UTC),
    )


class MessagePublisher(Protocol):
    """What the webhook's confirm batcher needs of a publisher: `Publisher`, or a test's stand-in."""

    async def publish_encoded(self, batch: Sequence[Encoded], *, message_id: str | None = None) -> None: ...


class _Route(NamedTuple):
    """Where a connected publisher publishes: the events exchange, on aiormq's channel under
    aio-pika's. Publishing there directly (aiormq raises the same errors aio-pika passes on)
    skips aio-pika's Exchange.publish wrapper: a quarter less CPU per publish."""

    channel: aiormq.abc.AbstractChannel
    exchange: str


class Publisher:
    """Publishes to `{ns}.events` with confirms and `mandatory`; raises when not confirmed.

    It opens its connection lazily and again after a loss, so a service can start while
    RabbitMQ is down and answer 503 until it is back.
    """

    def __init__(self, amqp_url: str, topology: Topology, *, timeout: float = 5.0) -> None:
        self._url = amqp_url
        self.topology = topology
        self._timeout = timeout
        self._conn: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._route: _Route | None = None
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._channel is not None and not self._channel.is_closed

    async def connect(self) -> None:
        await self._ensure()

    async def _ensure(self) -> _Route:
        if self._route is not None and self.connected:
            return self._route
        async with self._lock:
            if self._route is not None and self.connected:
                return self._route
            await self._drop()
            try:
                self._conn = await aio_pika.connect(self._url, timeout=self._timeout)
                self._channel = await self._conn.channel(publisher_confirms=True, on_return_raises=True)
                exchange = await declare_topology(self._channel, self.topology)
                self._route = _Route(await self._channel.get_underlay_channel(), exchange.name)
            except _CONNECTION_ERRORS as err:
                await self._drop()
                raise BrokerUnavailable(f"RabbitMQ is unreachable: {type(err).__name__}") from err
            return self._route

    async def _drop(self) -> None:
        conn, self._conn, self._channel, self._route = self._conn, None, None, None
        if conn is not None and not conn.is_closed:
            with contextlib.suppress(Exception):
                await conn.close()

    async def publish(
        self,
        message: WireMessage,
        *,
        routing_key: str | None = None,
        message_id: str | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> None:
        """Publish one message to its routing key (or `routing_key`); return once confirmed."""
        await self.publish_raw(
            build_message(message, message_id=message_id, headers=headers), routing_key or message.routing_key
        )

    async def publish_batch(
        self, batch: Sequence[WireMessage], *, routing_key: str | None = None, message_id: str | None = None
    ) -> None:
        """Publish messages of one type as one batch message, to the first one's routing key (or
        `routing_key`); return once confirmed."""
        if batch:
            key = routing_key or batch[0].routing_key
            await self.publish_raw(build_message(batch, message_id=message_id), key)

    async def publish_encoded(self, batch: Sequence[Encoded], *, message_id: str | None = None) -> None:
        """Publish encoded messages of one routing key as one message (see `build_encoded`);
        return once confirmed."""
        if batch:
            await self.publish_raw(build_encoded(batch, message_id=message_id), batch[0].routing_key)

    async def publish_raw(self, message: aio_pika.Message, routing_key: str) -> None:
        route = await self._ensure()
        started = time.perf_counter()
        try:
            await route.channel.basic_publish(
                message.body,
                exchange=route.exchange,
                routing_key=routing_key,
                properties=message.properties,
                mandatory=True,
                timeout=self._timeout,
            )
        except TimeoutError as err:
            # A slow confirm says nothing about the connection: keep it for the publishes in
            # flight on it. This one is reported unconfirmed; a retry may duplicate it, which
            # the deterministic message_id lets consumers absorb.
            raise BrokerUnavailable(
                f"RabbitMQ did not confirm the publish to {routing_key!r} within {self._timeout:g}s"
            ) from err
        except aiormq.exceptions.DeliveryError as err:
            raise PublishNotConfirmed(
                f"RabbitMQ did not confirm the publish to {routing_key!r}: {type(err).__name__}"
            ) from err
        except _CONNECTION_ERRORS as err:
            await self._forget(route)
            raise BrokerUnavailable(
                f"RabbitMQ connection lost while publishing: {type(err).__name__}"
            ) from err
        PUBLISH_SECONDS.observe(time.perf_counter() - started)

    async def publish_many(
        self, items: Sequence[tuple[WireMessage | Sequence[WireMessage], str | None]]
    ) -> None:
        """Publish messages (a sequence: one batch message) concurrently, each with its message
        id (None: its default), and wait for every confirm; raises if any was not confirmed."""
        results = await asyncio.gather(
            *(
                self.publish(item, message_id=mid)
                if isinstance(item, WireMessage)
                else self.publish_batch(item, message_id=mid)
                for item, mid in items
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _forget(self, route: _Route) -> None:
        async with self._lock:
            if self._route is route:
                await self._drop()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()


M = TypeVar("M", bound=WireMessage)


@dataclass
class Delivery(Generic[M]):
    """One AMQP delivery decoded: its items (several when it is a batch) and its metadata."""

    items: list[M]
    message_id: str | None
    delivery_count: int  # the broker's count: deliveries a process did not settle, plus this one
    headers: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1  # 1 + the failures this message already went through (retries included)


Handler = Callable[[Delivery[M]], Awaitable[None]]
FinalFailure = Callable[[Delivery[M], BaseException], Awaitable[None]]
Probe = Callable[[], Awaitable[bool]]

# Headers of a delivery that belong to its earlier trip, not to the message.
_TRIP_HEADERS = (
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-delivery-count",
)


class Consumer(Generic[M]):
    """Runs a handler over a queue: ack after success; on failure the retry policy decides.

    Transient failures go to a delay queue (or, while the database is away, wait in place behind
    the circuit) and come back without spending the quorum delivery limit; permanent ones go to
    `{queue}.dead` with their error (shared/retry.py). At most `prefetch` deliveries are handled
    at once. `stop()` stops taking new deliveries, waits for those in flight, then closes.
    """

    def __init__(
        self,
        *,
        amqp_url: str,
        topology: Topology,
        service: str,
        model: type[M],
        handler: Handler[M],
        prefetch: int = 32,
        on_final_failure: FinalFailure[M] | None = None,
        reconnect_delay: float = 1.0,
        probe: Probe | None = None,
        retry_budget_s: float = retry.DEFAULT_BUDGET_S,
        hold_max_s: float = 300.0,
        backoff_scale: float = 1.0,
        max_bytes_in_flight: int | None = None,
    ) -> None:
        self._url = amqp_url
        self.topology = topology
        self.queue_name = topology.queue(service)
        self._model = model
        self._handler = handler
        self._prefetch = prefetch
        self._on_final_failure = on_final_failure
        self._reconnect_delay = reconnect_delay
        self._budget = retry_budget_s
        self._hold_max = hold_max_s
        self._backoff_scale = backoff_scale  # tests shorten the schedule
        # Bodies decoded and handled at once, in bytes (None: only prefetch bounds them). With
        # batch messages prefetch alone would let a process hold prefetch x 20 items decoded.
        self._max_bytes = max_bytes_in_flight
        self._bytes = 0
        self._room = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._conn: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._side: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self.circuit = (
            Circuit(probe, queue=self.queue_name, pause=self._pause, resume=self._resume)
            if probe is not None
            else None
        )
        self.ready = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed

    async def run(self) -> None:
        """Consume until stop(); reconnects after a broker outage."""
        delay = self._reconnect_delay
        try:
            while not self._stopping.is_set():
                try:
                    await self._consume_once()
                    delay = self._reconnect_delay
                except _CONNECTION_ERRORS as err:
                    self.ready.clear()
                    if self._stopping.is_set():
                        break
                    log.warning(
                        "broker.reconnecting",
                        queue=self.queue_name,
                        error=type(err).__name__,
                        retry_in_s=delay,
                    )
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                    delay = min(delay * 2, 5.0)  # an outage's end is noticed within 5 s
            await self._drain()
        finally:
            if self.circuit is not None:
                await self.circuit.close()

    async def _consume_once(self) -> None:
        self._conn = await aio_pika.connect(self._url, timeout=10)
        lost = asyncio.get_running_loop().create_future()

        def on_close(*_: Any) -> None:
            if not lost.done():
                lost.set_result(None)

        self._conn.close_callbacks.add(on_close)
        try:
            self._channel = await self._conn.channel()
            self._side = None
            await declare_topology(self._channel, self.topology)
            await self._channel.set_qos(prefetch_count=self._prefetch)
            self._queue = await self._channel.get_queue(self.queue_name, ensure=False)
            self._tag = None
            if self.circuit is None or not self.circuit.is_open:
                await self._resume()  # else the circuit resumes once the database answers
            self.ready.set()
            log.info("consumer.started", queue=self.queue_name, prefetch=self._prefetch)
            stop = asyncio.ensure_future(self._stopping.wait())
            try:
                await asyncio.wait({stop, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stop.cancel()
            if self._stopping.is_set() and not lost.done():
                with contextlib.suppress(*_CONNECTION_ERRORS):
                    await self._pause()
                return
            raise ConnectionError("connection to RabbitMQ lost")
        finally:
            if self._stopping.is_set():
                await self._drain()
            if self._conn is not None and not self._conn.is_closed:
                with contextlib.suppress(Exception):
                    await self._conn.close()

    async def _pause(self) -> None:
        tag, self._tag = self._tag, None
        if self._queue is not None and tag is not None:
            await self._queue.cancel(tag)

    async def _resume(self) -> None:
        if self._queue is not None and self._tag is None and not self._stopping.is_set():
            self._tag = await self._queue.consume(self._on_message)

    async def _drain(self) -> None:
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        size = len(message.body)
        try:
            if self._max_bytes is not None:
                budget = self._max_bytes
                async with self._room:
                    # One message always goes, however large: a budget never stops everything.
                    await self._room.wait_for(lambda: self._bytes == 0 or self._bytes + size <= budget)
                    self._bytes += size
                try:
                    await self._settle(message)
                finally:
                    async with self._room:
                        self._bytes -= size
                        self._room.notify_all()
            else:
                await self._settle(message)
        finally:
            if task is not None:
                self._inflight.discard(task)

    def _decode(
        self, message: AbstractIncomingMessage, headers: dict[str, Any], state: retry.RetryState
    ) -> Delivery[M]:
        try:
            version = header_int(headers, "v", default=1)
        except ValueError:
            raise PermanentError("header v is not a number") from None
        items = messages.decode(self._model, message.body, version=version, batch=bool(headers.get("batch")))
        # Quorum queues count earlier deliveries in x-delivery-count (absent the first time).
        count = header_int(headers, "x-delivery-count") + 1
        return Delivery(items, message.message_id, count, headers, attempt=state.attempt + 1)

    async def _settle(self, message: AbstractIncomingMessage) -> None:
        headers = dict(message.headers or {})
        state = retry.RetryState.from_headers(headers)
        if state.routing_key is None:
            state = replace(state, routing_key=message.routing_key or "")
        started = time.perf_counter()
        outcome = "ack"
        try:
            try:
                delivery = self._decode(message, headers, state)
            except PermanentError as err:
                outcome = await self._split(message, state, err) or await self._to_dead(
                    message, state, retry.describe(err), type(err).__name__
                )
                return
            outcome = await self._attempts(message, delivery, state)
        finally:
            HANDLED.labels(self.queue_name, outcome).inc()
            HANDLE_SECONDS.labels(self.queue_name).observe(time.perf_counter() - started)

    async def _attempts(
        self, message: AbstractIncomingMessage, delivery: Delivery[M], state: retry.RetryState
    ) -> str:
        """Run the handler (or a pending final-failure hook) until it succeeds or is settled."""
        while True:
            delivery.attempt = state.attempt + 1
            if self.circuit is not None and self.circuit.is_open:
                # Nothing is handled while the database is away; the wait is bounded below.
                await self.circuit.hold(max_wait_s=self._hold_max, stopping=self._stopping)
            try:
                if state.settle_first:
                    if self._on_final_failure is not None:
                        await self._on_final_failure(delivery, DeadLettered(state.dead_reason))
                    return await self._to_dead(message, state, state.dead_reason, state.dead_type)
                with structlog.contextvars.bound_contextvars(message_id=message.message_id):
                    await self._handler(delivery)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                decision = retry.decide(err, state, now=time.time(), budget_s=self._budget)
                decision = replace(decision, delay_s=decision.delay_s * self._backoff_scale)
                state = decision.state
                if decision.action == "dead":
                    if not state.settle_first and len(delivery.items) > 1:
                        split = await self._split(message, state, err)
                        if split is not None:
                            return split
                    if state.settle_first or self._on_final_failure is None:
                        # No hook, or the hook itself cannot be written: the stale-job sweep
                        # settles what it would have settled.
                        return await self._to_dead(
                            message,
                            state,
                            state.dead_reason or decision.why_dead,
                            state.dead_type or type(err).__name__,
                        )
                    state = replace(
                        state,
                        dead_reason=decision.why_dead,
                        dead_type=type(err).__name__,
                        same_error=0,
                        last_error="",
                    )
                    continue  # run the hook, then dead-letter
                RETRIES.labels(self.queue_name, decision.reason).inc()
                log.warning(
                    "message.retry",
                    queue=self.queue_name,
                    message_id=message.message_id,
                    attempt=state.attempt,
                    reason=decision.reason,
                    error=retry.describe(err),
                    error_type=type(err).__name__,
                    retry_in_s=round(decision.delay_s, 2),
                )
                if await self._held_through_outage(decision) and not _channel_gone(message):
                    continue
                if _channel_gone(message):
                    return "retry"  # its channel died: the broker hands it out again
                if await self._publish_delayed(message, state, decision.delay_s):
                    await _settle_safely(message.ack())
                    return "retry"
                # The broker is in trouble too: wait here, then try again in place.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=decision.delay_s)
                if self._stopping.is_set():
                    return "retry"  # left unsettled: closing the channel returns it to the queue
                continue
            else:
                await _settle_safely(message.ack())
                if state.first_failure is not None:
                    RETRY_AGE.labels(self.queue_name).observe(time.time() - state.first_failure)
                return "ack"

    async def _held_through_outage(self, decision: retry.Decision) -> bool:
        if self.circuit is None or decision.reason not in retry.SUSPECT_DATABASE:
            return False
        return await self.circuit.hold(max_wait_s=self._hold_max, stopping=self._stopping)

    async def _side_channel(self) -> AbstractChannel:
        """A confirmed channel for retries and dead letters, opened once per connection."""
        if self._side is None or self._side.is_closed:
            assert self._conn is not None
            self._side = await self._conn.channel(publisher_confirms=True)
        return self._side

    def _copy(self, message: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
        base = {k: v for k, v in (message.headers or {}).items() if k not in _TRIP_HEADERS}
        return aio_pika.Message(
            body=message.body,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            headers={**base, **headers},
            timestamp=message.timestamp,
        )

    async def _publish_delayed(
        self, message: AbstractIncomingMessage, state: retry.RetryState, delay_s: float
    ) -> bool:
        """Send the message to the delay queue that returns it after `delay_s`; False if it failed."""
        step = retry.step_for(delay_s)
        copy = self._copy(message, state.headers())
        copy.expiration = max(0.001, delay_s)
        try:
            channel = await self._side_channel()
            await channel.default_exchange.publish(
                copy,
                routing_key=self.topology.delay(self.queue_name, step),
                mandatory=True,
                timeout=10,
            )
        except Exception as err:
            log.warning("message.retry_publish_failed", queue=self.queue_name, error=type(err).__name__)
            return False
        return True

    async def _split(
        self, message: AbstractIncomingMessage, state: retry.RetryState, err: BaseException
    ) -> str | None:
        """A batch that failed for good goes back to its queue as one message per item, so a bad
        item fails (and is dead-lettered) alone and the others are handled (issue 15). Handlers
        are idempotent, so items the batch already handled only settle again. None when the
        message is no batch of several items or the copies could not be published."""
        if not (message.headers or {}).get("batch"):
            return None
        try:
            raw = orjson.loads(message.body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(raw, list) or len(raw) < 2:
            return None
        headers = {
            k: v
            for k, v in (message.headers or {}).items()
            if k not in _TRIP_HEADERS and not k.startswith("x-leadsync-") and k != "batch"
        }
        # Each copy starts a fresh retry history, keeping where the batch was going.
        headers.update(retry.RetryState(routing_key=state.routing_key or message.routing_key or "").headers())
        copies = [
            aio_pika.Message(
                body=orjson.dumps(item),
                content_type=message.content_type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=messages.content_id("split", message.message_id, i),
                headers=headers,
                timestamp=message.timestamp,
            )
            for i, item in enumerate(raw)
        ]
        try:
            channel = await self._side_channel()
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        copy, routing_key=self.queue_name, mandatory=True, timeout=10
                    )
                    for copy in copies
                )
            )
        except Exception as pub_err:
            log.warning("batch.split_publish_failed", queue=self.queue_name, error=type(pub_err).__name__)
            return None
        log.warning(
            "batch.split",
            queue=self.queue_name,
            message_id=message.message_id,
            items=len(copies),
            error=retry.describe(err),
            error_type=type(err).__name__,
        )
        await _settle_safely(message.ack())
        return "split"

    async def _to_dead(
        self, message: AbstractIncomingMessage, state: retry.RetryState, reason: str, error_type: str
    ) -> str:
        """Copy the message into `{queue}.dead` with why it failed (confirmed), then ack it."""
        log.error(
            "message.dead_lettered",
            queue=self.queue_name,
            message_id=message.message_id,
            error=reason,
            error_type=error_type,
            attempts=state.attempt,
        )
        headers = {k: v for k, v in state.headers().items() if k.startswith("x-leadsync-")}
        headers.pop(retry.DEAD_REASON, None)
        headers.pop(retry.DEAD_TYPE, None)
        headers.update(
            {
                "x-leadsync-error": reason[:1000],
                "x-leadsync-error-type": error_type,
                "x-leadsync-queue": self.queue_name,
                # Kept so `leadsync dlq replay` can send it back where it was going.
                "x-leadsync-routing-key": state.routing_key or message.routing_key or "",
                "x-leadsync-failed-at": datetime.now(UTC).isoformat(),
                "x-leadsync-deliveries": _deliveries(message),
            }
        )
        try:
            channel = await self._side_channel()
            await channel.default_exchange.publish(
                self._copy(message, headers),
                routing_key=self.topology.dead(self.queue_name),
                mandatory=True,
                timeout=10,
            )
        except Exception as pub_err:
            # Fall back to the broker's dead-lettering, which keeps the message but not its error.
            log.warning("message.dead_letter_publish_failed", error=type(pub_err).__name__)
            await _settle_safely(message.reject(requeue=False))
            return "dead"
        await _settle_safely(message.ack())
        if state.first_failure is not None:
            RETRY_AGE.labels(self.queue_name).observe(time.time() - state.first_failure)
        return "dead"

    def stop(self) -> None:
        self._stopping.set()


def _channel_gone(message: AbstractIncomingMessage) -> bool:
    try:
        return bool(message.channel.is_closed)
    except Exception:  # no channel object any more
        return True


async def _settle_safely(op: Awaitable[Any]) -> None:
    # If the channel is gone the broker requeues the message itself: at-least-once holds.
    try:
        await op
    except _CONNECTION_ERRORS as err:
        log.warning("message.settle_failed", error=type(err).__name__)


def _deliveries(message: AbstractIncomingMessage) -> int:
    """Deliveries of the message so far, this one included (quorum queues count the earlier ones)."""
    try:
        return header_int(message.headers, "x-delivery-count") + 1
    except ValueError:
        return 1
