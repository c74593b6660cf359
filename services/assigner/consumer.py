"""Handles contact.scored: bring the contact up to date in one transaction."""

from __future__ import annotations

import asyncpg
import structlog

from services.assigner import repository
from shared import jobs
from shared.broker import Delivery
from shared.messages import ContactScored

log = structlog.get_logger("leadsync.assigner")


async def handle(delivery: Delivery[ContactScored], *, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for msg in delivery.items:
            row = await repository.upsert_contact(conn, msg)
            if msg.job_id is not None:
                await jobs.settle_item(conn, msg.job_id, msg.platform, msg.contact_id, "SYNCED")
            log.info(
                "contact.updated" if row is not None else "contact.stale_analysis_dropped",
                page_id=msg.page_id, contact_id=msg.contact_id, score=msg.analysis.lead_score,
            )
