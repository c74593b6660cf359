"""Puts the events of many concurrent webhook requests into few confirmed RabbitMQ publishes.

One confirmed publish per event caps ingress near the broker round-trip rate. Instead each
request hands its events to the batcher and waits; the batcher publishes whatever is waiting
as one batch message per routing key (DESIGN §4, header batch=true) as soon as a publish slot
is free, and resolves every waiting request when RabbitMQ confirmed (or fails them all). Under
light load a request is published at once; under heavy load batches grow by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from services.webhook.metrics import BATCH_ITEMS, PUBLISH_SECONDS
from shared.broker import MAX_EVENTS_PER_MESSAGE, Encoded, MessagePublisher
from shared.errors import BrokerUnavailable

_Waiting = tuple[list[Encoded], "asyncio.Future[None]"]


class ConfirmBatcher:
    """`await submit(events)` returns once every event is confirmed, or raises the broker error."""

    def __init__(self, publisher: MessagePublisher, *, max_items: int = 1000, max_inflight: int = 4) -> None:
        self._publisher = publisher
        self._max_items = max_items
        self._slots = asyncio.Semaphore(max_inflight)
        self._waiting: list[_Waiting] = []
        self._wake = asyncio.Event()
        self._flushes: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="confirm-batcher")

    async def submit(self, events: list[Encoded]) -> None:
        if not events:
            return
        started = time.perf_counter()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((events, future))
        self._wake.set()
        await future
        PUBLISH_SECONDS.observe(time.perf_counter() - started)

    async def close(self) -> None:
        """Publish what is waiting, wait for the confirms in flight, then stop."""
        # The runner keeps flushing until every waiting request has its answer.
        await asyncio.gather(*(future for _, future in self._waiting), return_exceptions=True)
        await asyncio.gather(*self._flushes, return_exceptions=True)
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            # Items keep arriving while every slot waits for a confirm: that is the batching.
            await self._slots.acquire()
            # One more turn of the loop lets the rest of a wave of requests join this flush.
            await asyncio.sleep(0)
            taken: list[_Waiting] = []
            count = 0
            while self._waiting and count < self._max_items:
                waiting = self._waiting.pop(0)
                taken.append(waiting)
                count += len(waiting[0])
            if not self._waiting:
                self._wake.clear()
            if not taken:
                self._slots.release()
                continue
            task = asyncio.create_task(self._flush(taken))
            self._flushes.add(task)
            task.add_done_callback(self._flush_done)

    def _flush_done(self, task: asyncio.Task[None]) -> None:
        self._flushes.discard(task)
        self._slots.release()

    async def _flush(self, taken: list[_Waiting]) -> None:
        by_key: dict[str, list[Encoded]] = {}
        for events, _ in taken:
            for event in events:
                by_key.setdefault(event.routing_key, []).append(event)
        error: BaseException | None = None
        try:
            if len(by_key) == 1:
                # The usual case; awaiting directly saves gather's extra task (a loop turn).
                [events] = by_key.values()
                await self._publish(events)
            else:
                results = await asyncio.gather(
                    *(self._publish(events) for events in by_key.values()),
                    return_exceptions=True,
                )
                error = next((r for r in results if isinstance(r, BaseException)), None)
        except Exception as err:  # every waiting request must get an answer, whatever failed
            error = err
        except asyncio.CancelledError:
            error = BrokerUnavailable("the webhook is shutting down")
        for _, future in taken:
            if future.done():  # the request went away (client disconnected)
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    async def _publish(self, events: list[Encoded]) -> None:
        if len(events) > MAX_EVENTS_PER_MESSAGE:
            # A large delivery is split (DESIGN §4): a consumer holds each message until every
            # event in it is done, so a message must stay small enough to finish quickly.
            chunks = [
                events[i : i + MAX_EVENTS_PER_MESSAGE] for i in range(0, len(events), MAX_EVENTS_PER_MESSAGE)
            ]
            await asyncio.gather(*(self._publish(chunk) for chunk in chunks))
            return
        BATCH_ITEMS.observe(len(events))
        # One event goes as itself; more go as one batch message (DESIGN §4, header batch=true).
        await self._publisher.publish_encoded(events)
