"""Per-conversation debounce: items of one key arriving close together share one run.

Each `submit` returns only once a run that includes its item has finished (or raises that run's
error), so a consumer can hold the delivery unacknowledged until its effect is published.
Runs of one key never overlap: a later run waits for the earlier one, so it sees its result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


@dataclass
class _Round(Generic[T]):
    done: asyncio.Future[None]
    started: float
    items: list[T] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class Coalescer(Generic[K, T]):
    """Debounces per key: a round closes `window` seconds after its last item (at most `max_wait`
    after its first) and then runs `run(key, items)` once."""

    def __init__(
        self,
        run: Callable[[K, list[T]], Awaitable[None]],
        *,
        window: float,
        max_wait: float | None = None,
    ) -> None:
        self._run = run
        self._window = window
        self._max_wait = max_wait if max_wait is not None else 3 * window
        self._open: dict[K, _Round[T]] = {}
        self._running: dict[K, asyncio.Task[None]] = {}

    @property
    def pending(self) -> int:
        """Rounds still collecting items (for tests and metrics)."""
        return len(self._open)

    async def submit(self, key: K, item: T, *, immediate: bool = False) -> None:
        """Add `item` to the key's open round and wait for that round's run to finish.

        `immediate` closes the round now (a backfill event holds the whole conversation, so
        waiting for more of it gains nothing).
        """
        loop = asyncio.get_running_loop()
        rnd = self._open.get(key)
        if rnd is None:
            rnd = _Round(loop.create_future(), loop.time())
            # Mark the outcome retrieved even if every waiter was cancelled meanwhile.
            rnd.done.add_done_callback(lambda f: f.cancelled() or f.exception())
            self._open[key] = rnd
        rnd.items.append(item)
        delay = 0.0 if immediate else min(self._window, rnd.started + self._max_wait - loop.time())
        if rnd.timer is not None:
            rnd.timer.cancel()
        rnd.timer = loop.call_later(max(0.0, delay), self._close, key, rnd)
        await asyncio.shield(rnd.done)

    def _close(self, key: K, rnd: _Round[T]) -> None:
        if self._open.get(key) is rnd:
            del self._open[key]
        previous = self._running.get(key)
        task = asyncio.ensure_future(self._execute(key, rnd, previous))
        self._running[key] = task
        task.add_done_callback(lambda t: self._forget(key, t))

    def _forget(self, key: K, task: asyncio.Task[None]) -> None:
        if self._running.get(key) is task:
            del self._running[key]

    async def _execute(self, key: K, rnd: _Round[T], previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # its outcome belongs to its own waiters
        try:
            await self._run(key, rnd.items)
        except asyncio.CancelledError:
            rnd.done.cancel()
            raise
        except BaseException as err:
            rnd.done.set_exception(err)
        else:
            rnd.done.set_result(None)
