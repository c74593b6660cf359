"""One delivery's contact.scored results, published as one batch message (issue 15).

A batch delivery (≤ 20 backfill conversations, or a webhook delivery of several) used to publish
one contact.scored per conversation: each published, confirmed, delivered, handled in its own
assigner transaction and acknowledged alone. The outbox gathers the results of a delivery's
events and publishes them together once every event has either reached its publish or finished
without one; the assigner then applies the batch in one transaction.

A round of the coalescer may hold events of several deliveries and wait for the previous round of
its conversation, so waiting for a whole delivery could form a cycle between deliveries; an
outbox therefore also flushes `linger_s` after its first result arrived, whatever is missing.
Nothing is acknowledged before its result is confirmed: each waiter returns only after the
publish holding its messages was confirmed (or raises its error).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from shared.broker import Publisher
from shared.messages import ContactScored, ConversationUpdated

# An assigner transaction locks every contact of a batch: keep batches moderate.
MAX_PER_MESSAGE = 50


class Outbox:
    """`await publish(events, results)` returns once RabbitMQ confirmed the batch holding them."""

    def __init__(
        self, publisher: Publisher, events: Iterable[ConversationUpdated], *, linger_s: float = 0.05
    ) -> None:
        self._publisher = publisher
        self._missing = {id(e) for e in events}
        self._linger = linger_s
        self._results: list[ContactScored] = []
        self._confirmed: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    def arrived(self, events: Iterable[ConversationUpdated]) -> None:
        """These events will bring no result (done, skipped, failed or covered elsewhere)."""
        for e in events:
            self._missing.discard(id(e))
        if not self._missing and self._results:
            self._flush()

    async def publish(self, events: Iterable[ConversationUpdated], results: list[ContactScored]) -> None:
        if not results:
            self.arrived(events)
            return
        loop = asyncio.get_running_loop()
        if self._confirmed is None:
            self._confirmed = loop.create_future()
            self._timer = loop.call_later(self._linger, self._flush)
        confirmed = self._confirmed
        self._results.extend(results)
        self.arrived(events)
        await asyncio.shield(confirmed)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        results, confirmed = self._results, self._confirmed
        self._results, self._confirmed, self._timer = [], None, None
        if confirmed is None or not results:
            return
        task = asyncio.ensure_future(self._send(results, confirmed))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _send(self, results: list[ContactScored], confirmed: asyncio.Future[None]) -> None:
        chunks = [results[i : i + MAX_PER_MESSAGE] for i in range(0, len(results), MAX_PER_MESSAGE)]
        try:
            await self._publisher.publish_many(
                [(chunk if len(chunk) > 1 else chunk[0], None) for chunk in chunks]
            )
        except BaseException as err:
            if not confirmed.done():
                confirmed.set_exception(err)
                confirmed.exception()  # retrieved: every waiter re-raises it
            if isinstance(err, asyncio.CancelledError):
                raise
            return
        if not confirmed.done():
            confirmed.set_result(None)
