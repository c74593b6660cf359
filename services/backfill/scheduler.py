"""The backfill scheduler: starts due incremental syncs and hands out jobs nobody is running.

Every process runs it; it is safe to race. New jobs rely on the one-active-job-per-page index
(ON CONFLICT DO NOTHING), and each stale job is handed out once per period by a guarded UPDATE;
the worker's conditional claim makes any duplicate request harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from prometheus_client import Gauge

from services.backfill import repository
from shared.broker import Publisher
from shared.errors import DATABASE_ERRORS, BrokerUnavailable
from shared.messages import BackfillRequested

# A round that hits these is logged and tried again next time.
_TICK_FAILURES: tuple[type[BaseException], ...] = (BrokerUnavailable, *DATABASE_ERRORS)

log = structlog.get_logger("leadsync.backfill.scheduler")

JOB_IDLE = Gauge(
    "leadsync_backfill_job_idle_seconds",
    "Seconds since an active job last moved (created, started, an item settled); the alert on it "
    "catches a job nobody works on.",
    ["job_id", "page_id"],
)


UNSETTLED = (
    "not settled within {timeout:g}s after the walk ended: its message was lost or dead-lettered "
    "(see leadsync dlq list); POST /api/jobs/{{id}}/retry syncs it again"
)


async def tick(
    pool: asyncpg.Pool,
    publisher: Publisher,
    *,
    stale_after_s: float,
    settle_timeout_s: float = 900.0,
) -> list[str]:
    """One round; returns the job ids it requested."""
    idle = await repository.idle_jobs(pool)
    JOB_IDLE.clear()
    for row in idle:
        JOB_IDLE.labels(row["id"], row["page_id"]).set(float(row["idle_s"]))
    for job_id in await repository.abandoned_jobs(pool, settle_timeout_s, stale_after_s):
        settled = await repository.settle_abandoned(pool, job_id, UNSETTLED.format(timeout=settle_timeout_s))
        log.warning("job.unsettled_items_failed", job_id=job_id, items=settled)
    started = await repository.start_due_syncs(pool)
    for job_id in started:
        log.info("sync.scheduled", job_id=job_id)
    stale = await repository.stale_jobs(pool, stale_after_s)
    for job_id in stale:
        log.warning("job.resuming", job_id=job_id, reason="no heartbeat or not picked up")
    requested = started + stale
    if requested:
        await publisher.publish_many([(BackfillRequested(job_id=j), None) for j in requested])
    return requested


async def run(
    pool: asyncpg.Pool,
    publisher: Publisher,
    *,
    stop: asyncio.Event,
    interval_s: float,
    stale_after_s: float,
    settle_timeout_s: float = 900.0,
    health: Callable[[], Awaitable[int]] | None = None,
) -> None:
    """Tick every `interval_s` until `stop`; a failed round is logged and tried next time.
    `health` checks the pages that are due for it (services/backfill/health.py)."""
    while not stop.is_set():
        try:
            await tick(pool, publisher, stale_after_s=stale_after_s, settle_timeout_s=settle_timeout_s)
            if health is not None:
                await health()
        except _TICK_FAILURES as err:
            # Jobs stay stale or due, so the next round picks them up again.
            log.warning("scheduler.tick_failed", error=str(err) or type(err).__name__)
        except Exception:
            # A bug in one round must not end the loop while the service looks healthy.
            log.exception("scheduler.tick_crashed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
