"""Handles conversation.updated: store the messages, score the conversation, publish the result."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import structlog

from services.analyzer import fallback, transcript
from shared import jobs
from shared.broker import Delivery, Publisher
from shared.messages import ContactScored, ConversationUpdated

log = structlog.get_logger("leadsync.analyzer")


async def handle(
    delivery: Delivery[ConversationUpdated], *, pool: asyncpg.Pool, publisher: Publisher
) -> None:
    for event in delivery.items:
        with structlog.contextvars.bound_contextvars(
            page_id=event.page_id, contact_id=event.contact_id, job_id=event.job_id
        ):
            if event.job_id is not None and await jobs.is_cancelled(pool, event.job_id):
                log.info("conversation.dropped", reason="job cancelled")
                continue
            async with pool.acquire() as conn:
                async with conn.transaction():
                    await transcript.store(conn, event)
                history = await transcript.load(
                    conn, event.page_id, event.platform, event.contact_id
                )
            if not history:
                log.info("conversation.empty")
                continue
            analysis = fallback.score(history, now=datetime.now(UTC))
            scored = ContactScored(
                page_id=event.page_id,
                platform=event.platform,
                contact_id=event.contact_id,
                contact_name=event.contact_name,
                analysis=analysis,
                analyzed_through=max(m.sent_at for m in history),
                message_count=len(history),
                origin=event.origin,
                job_id=event.job_id,
            )
            await publisher.publish(scored)
            log.info("conversation.scored", score=analysis.lead_score, fallback=True)
