"""The analyzer's job lookup: the events of a batch asking at once share one read (issue 15)."""

from __future__ import annotations

import asyncio
import uuid

from services.analyzer.consumer import JobLookup


class CountingPool:
    """Answers jobs.info's one query after a moment, counting how often it was asked."""

    def __init__(self, fail: bool = False) -> None:
        self.asked = 0
        self.fail = fail

    async def fetchrow(self, query: str, *args: object) -> dict[str, object]:
        self.asked += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise ConnectionError("database went away")
        return {"status": "IN_PROGRESS", "kind": "FULL", "params": None}


async def test_concurrent_lookups_of_one_job_share_one_read_and_later_ones_ask_again():
    pool = CountingPool()
    lookup = JobLookup(pool, ttl_s=0.0)
    job_id = str(uuid.uuid4())
    answers = await asyncio.gather(*(lookup(job_id) for _ in range(20)))
    assert pool.asked == 1 and {a.status for a in answers if a} == {"IN_PROGRESS"}
    await lookup(job_id)  # not cached (ttl 0): a cancel would be seen at once
    assert pool.asked == 2


async def test_a_failed_shared_read_fails_every_caller():
    pool = CountingPool(fail=True)
    lookup = JobLookup(pool, ttl_s=0.0)
    job_id = str(uuid.uuid4())
    results = await asyncio.gather(*(lookup(job_id) for _ in range(3)), return_exceptions=True)
    assert pool.asked == 1 and all(isinstance(r, ConnectionError) for r in results)
