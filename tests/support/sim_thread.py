"""The simulated Meta served from a thread of its own, for tests whose own code is synchronous."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from leadsync.sim.graph import SimGraph, serving


@contextlib.contextmanager
def serving_in_thread(sim: SimGraph) -> Iterator[str]:
    ready: list[str] = []
    started = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        async with serving(sim) as url:
            ready.append(url)
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(30), "the simulated Meta did not start"
    try:
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
