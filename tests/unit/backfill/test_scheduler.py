"""The scheduler loop keeps going after a round fails, whatever the error."""

from __future__ import annotations

import asyncio

from services.backfill import scheduler


async def test_a_round_that_raises_an_unexpected_error_does_not_end_the_loop(monkeypatch):
    rounds = 0

    async def tick(pool, publisher, **_):
        nonlocal rounds
        rounds += 1
        if rounds == 1:
            raise KeyError("a bug in one round")
        if rounds == 2:
            raise ValueError("and another")
        return []

    monkeypatch.setattr(scheduler, "tick", tick)
    stop = asyncio.Event()
    loop = asyncio.create_task(scheduler.run(None, None, stop=stop, interval_s=0.01, stale_after_s=30))
    while rounds < 4:
        await asyncio.sleep(0.01)
    assert not loop.done()
    stop.set()
    await asyncio.wait_for(loop, 5)
