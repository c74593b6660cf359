"""A consumer's circuit: while the database is away, stop taking messages, probe, then resume.

A handler that fails for a reason that may mean the database is away asks `hold()`. The first
such failure probes the database; if it does not answer, the circuit opens (the consumer stops
consuming), a probe loop runs with backoff, and every held message waits for the circuit to
close and then runs again in place. An outage therefore costs no retries and no deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog
from prometheus_client import Gauge

Probe = Callable[[], Awaitable[bool]]
Hook = Callable[[], Awaitable[None]]

log = structlog.get_logger("leadsync.circuit")

CIRCUIT_OPEN = Gauge(
    "leadsync_broker_circuit_open",
    "1 while a consumer has stopped taking messages because the database does not answer.",
    ["queue"],
)


class Circuit:
    def __init__(
        self,
        probe: Probe,
        *,
        queue: str,
        pause: Hook,
        resume: Hook,
        probe_interval_s: float = 0.5,
        max_probe_interval_s: float = 5.0,
        probe_timeout_s: float = 2.0,
    ) -> None:
        self._probe, self._queue = probe, queue
        self._pause, self._resume = pause, resume  # what the consumer does while it is open
        self._interval, self._max_interval = probe_interval_s, max_probe_interval_s
        self._timeout = probe_timeout_s
        self._closed = asyncio.Event()
        self._closed.set()
        self._lock = asyncio.Lock()
        self._prober: asyncio.Task[None] | None = None
        CIRCUIT_OPEN.labels(queue).set(0)

    @property
    def is_open(self) -> bool:
        return not self._closed.is_set()

    async def hold(self, *, max_wait_s: float, stopping: asyncio.Event) -> bool:
        """Wait out a database outage; True when it was one and the database answers again.

        False at once when the database answers (the failure was something else), and False
        when `max_wait_s` passes or the consumer stops first (the caller retries another way).
        """
        async with self._lock:
            if not self.is_open:
                if await self._answers():
                    return False
                await self._open()
        closed = asyncio.ensure_future(self._closed.wait())
        stop = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({closed, stop}, timeout=max_wait_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            stop.cancel()
        return not self.is_open

    async def close(self) -> None:
        """Stop probing (the consumer is stopping)."""
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober

    async def _answers(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self._probe(), timeout=self._timeout))
        except Exception:
            return False

    async def _open(self) -> None:
        self._closed.clear()
        CIRCUIT_OPEN.labels(self._queue).set(1)
        log.warning("circuit.opened", queue=self._queue, reason="the database does not answer")
        try:
            await self._pause()
        except Exception as err:  # held messages still wait; nothing new is handled meanwhile
            log.warning("circuit.pause_failed", queue=self._queue, error=type(err).__name__)
        self._prober = asyncio.create_task(self._probe_until_back())

    async def _probe_until_back(self) -> None:
        delay = self._interval
        while True:
            await asyncio.sleep(delay)
            if await self._answers():
                break
            delay = min(delay * 2, self._max_interval)
        CIRCUIT_OPEN.labels(self._queue).set(0)
        self._closed.set()
        log.info("circuit.closed", queue=self._queue)
        try:
            await self._resume()
        except Exception as err:  # the connection went too: reconnecting resumes consuming
            log.warning("circuit.resume_failed", queue=self._queue, error=type(err).__name__)
