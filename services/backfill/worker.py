"""Handles backfill.requested: runs one backfill job."""

from __future__ import annotations

import asyncpg
import structlog

from shared.broker import Delivery
from shared.messages import BackfillRequested

log = structlog.get_logger("leadsync.backfill")


async def handle(delivery: Delivery[BackfillRequested], *, pool: asyncpg.Pool) -> None:
    for request in delivery.items:
        status = await pool.fetchval(
            "SELECT status FROM jobs WHERE id::text = $1", request.job_id
        )
        log.info("backfill.requested", job_id=request.job_id, status=status)
