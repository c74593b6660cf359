"""The debounce: items of one key arriving within the window share one run; keys never mix."""

from __future__ import annotations

import asyncio

import pytest

from services.analyzer.coalesce import Coalescer


class Recorder:
    def __init__(self, fail: bool = False, delay: float = 0.0) -> None:
        self.runs: list[tuple[str, list[int]]] = []
        self.fail = fail
        self.delay = delay
        self.active: set[str] = set()
        self.overlapped = False

    async def __call__(self, key: str, items: list[int]) -> None:
        self.overlapped |= key in self.active
        self.active.add(key)
        try:
            await asyncio.sleep(self.delay)
            self.runs.append((key, list(items)))
            if self.fail:
                raise RuntimeError("run failed")
        finally:
            self.active.discard(key)


async def test_a_burst_becomes_one_run_and_every_submitter_waits_for_it():
    rec = Recorder()
    c = Coalescer(rec, window=0.05)

    async def later(i: int) -> None:
        await asyncio.sleep(0.01 * i)
        await c.submit("a", i)

    await asyncio.gather(*(later(i) for i in range(4)), c.submit("b", 9))
    assert sorted(rec.runs) == [("a", [0, 1, 2, 3]), ("b", [9])]
    assert c.pending == 0


async def test_immediate_runs_without_waiting_for_more():
    rec = Recorder()
    c = Coalescer(rec, window=60)
    await asyncio.wait_for(c.submit("a", 1, immediate=True), timeout=5)
    assert rec.runs == [("a", [1])]


async def test_a_failed_run_fails_every_item_of_its_round():
    c = Coalescer(Recorder(fail=True), window=0.01)
    results = await asyncio.gather(c.submit("a", 1), c.submit("a", 2), return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]


async def test_runs_of_one_key_never_overlap():
    rec = Recorder(delay=0.05)
    c = Coalescer(rec, window=0.0)
    first = asyncio.ensure_future(c.submit("a", 1))
    await asyncio.sleep(0.01)  # the first run is under way
    await asyncio.gather(first, c.submit("a", 2))
    assert rec.runs == [("a", [1]), ("a", [2])] and not rec.overlapped


async def test_a_steady_trickle_is_cut_at_max_wait():
    rec = Recorder()
    c = Coalescer(rec, window=0.05, max_wait=0.12)

    waiters = []
    for i in range(8):
        waiters.append(asyncio.ensure_future(c.submit("a", i)))
        await asyncio.sleep(0.03)
    await asyncio.gather(*waiters)
    assert len(rec.runs) >= 2
    assert sorted(i for _, items in rec.runs for i in items) == list(range(8))


@pytest.mark.parametrize("window", [0.0, 0.02])
async def test_cancelled_waiter_does_not_cancel_the_round(window):
    rec = Recorder(delay=0.03)
    c = Coalescer(rec, window=window)
    waiter = asyncio.ensure_future(c.submit("a", 1))
    other = asyncio.ensure_future(c.submit("a", 2))
    await asyncio.sleep(0.005)
    waiter.cancel()
    await other
    assert rec.runs == [("a", [1, 2])]
