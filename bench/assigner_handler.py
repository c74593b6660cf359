"""How many contact.scored messages per second the assigner's handler settles on this machine.

    .venv/bin/python bench/assigner_handler.py [--messages 4000] [--concurrency 16] [--contacts 1000]
        [--newest-first]

Runs the real handler (locks, upsert, placement, activity) against a throwaway database on
DATABASE_URL's server; no broker, so the figure is the database side of one assigner process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.assigner.consumer import handle
from services.assigner.pipelines import PipelineCache
from shared import db, logging
from shared.broker import Delivery
from shared.messages import Analysis, ContactScored
from shared.settings import DEFAULT_DATABASE_URL
from shared.vocabulary import PipelineMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support is not installed
from tests.support.pipelines import STAGES

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def message(i: int, contacts: int) -> ContactScored:
    score = (i * 37) % 100 + 1
    status = "WON" if score > 95 else "LOST" if score < 4 else "QUALIFIED"
    return ContactScored(
        page_id="BENCH",
        platform="messenger",
        contact_id=f"c{i % contacts}",
        analysis=Analysis(lead_score=score, lead_status=status, confidence=50),
        analyzed_through=T0 + timedelta(seconds=i),
        message_count=3,
    )


async def main(args: argparse.Namespace) -> None:
    logging.configure(service="bench", level="warning")
    base = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL).rsplit("/", 1)[0]
    url = f"{base}/leadsync_bench_{uuid.uuid4().hex[:8]}"
    await db.migrate(url)
    pool = await db.create_pool(url, min_size=args.concurrency, max_size=args.concurrency)
    try:
        pipeline = await pool.fetchval("INSERT INTO pipelines (name) VALUES ('B') RETURNING id")
        await pool.executemany(
            "INSERT INTO stages (pipeline_id, name, type, position) VALUES ($1, $2, $3, $4)",
            [(pipeline, n, t, i) for i, (n, t) in enumerate(STAGES)],
        )
        await pool.execute(
            """INSERT INTO pages (id, name, auto_pipeline_id, auto_pipeline_mode)
                              VALUES ('BENCH', 'Bench', $1, $2)""",
            pipeline,
            PipelineMode.UPDATE_EXISTING,
        )
        cache = PipelineCache()
        queue = [message(i, args.contacts) for i in range(args.messages)]
        if not args.newest_first:
            queue.reverse()  # popped from the end: oldest first, the usual order
        latencies: list[float] = []

        async def worker() -> None:
            while queue:
                msg = queue.pop()
                started = time.perf_counter()
                await handle(Delivery([msg], None, 1), pool=pool, cache=cache)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - started
        moves = await pool.fetchval("SELECT count(*) FROM activities")
        latencies.sort()
        print(
            f"{args.messages} messages over {args.contacts} contacts"
            f"{' (newest first: the older ones are stale)' if args.newest_first else ''}, concurrency "
            f"{args.concurrency}: {args.messages / elapsed:.0f} msg/s; latency p50 "
            f"{statistics.median(latencies) * 1000:.1f} ms, p99 "
            f"{latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms; {moves} activities"
        )
    finally:
        await pool.close()
        await db.drop_database(url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--newest-first", action="store_true")
    asyncio.run(main(parser.parse_args()))
