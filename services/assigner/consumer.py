"""Handles contact.scored: bring the contact up to date and place it, one transaction per delivery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import asyncpg
import structlog
from prometheus_client import Counter

from services.assigner import repository
from services.assigner.pipelines import PipelineCache
from services.assigner.stages import Decision, place
from shared import jobs
from shared.broker import Delivery
from shared.errors import PermanentError
from shared.messages import ContactScored

log = structlog.get_logger("leadsync.assigner")

STAGE_CHANGES = Counter(
    "leadsync_assigner_stage_changes_total", "Contacts moved to another stage, by §7.1 rule.", ["rule"]
)
DOWNGRADES_BLOCKED = Counter(
    "leadsync_assigner_downgrades_blocked_total", "Stage changes refused by downgrade protection."
)
STALE_DROPPED = Counter(
    "leadsync_assigner_stale_analyses_dropped_total",
    "Analyses older than the contact's last one, dropped (their job item still counts).",
)


@dataclass(frozen=True)
class Outcome:
    result: Literal["applied", "stale", "repeat"]
    decision: Decision | None = None


async def handle(
    delivery: Delivery[ContactScored], *, pool: asyncpg.Pool, cache: PipelineCache
) -> None:
    """Settle a delivery (one message or a batch) as a whole: all its effects commit together."""
    # The same contact twice in a batch is applied oldest first, as if delivered in order.
    items = sorted(delivery.items, key=lambda m: (repository.contact_lock_key(m), m.analyzed_through))
    try:
        async with pool.acquire() as conn, conn.transaction():
            # Contacts are locked first (ascending keys), job rows last (ascending ids): no cycles.
            await repository.lock_contacts(conn, [repository.contact_lock_key(m) for m in items])
            outcomes = [await apply(conn, msg, cache) for msg in items]
            for msg in sorted(items, key=lambda m: (m.job_id or "", m.platform, m.contact_id)):
                if msg.job_id:
                    await jobs.settle_item(conn, msg.job_id, msg.platform, msg.contact_id, "SYNCED")
    except (asyncpg.ForeignKeyViolationError, asyncpg.DataError) as err:
        # A job_id that is not a uuid or names no job will not get better by retrying.
        raise PermanentError(f"contact.scored refers to data that does not exist: {err}") from err
    for msg, outcome in zip(items, outcomes, strict=True):
        report(msg, outcome)


async def apply(conn: asyncpg.Connection, msg: ContactScored, cache: PipelineCache) -> Outcome:
    """One analysis: drop it if stale, else update the contact and apply the §7.4 placement."""
    row = await repository.contact(conn, msg)
    if row is not None and row["analyzed_through"] is not None:
        if row["analyzed_through"] > msg.analyzed_through:
            return Outcome("stale")
        if repository.holds_analysis(row, msg):
            return Outcome("repeat")
    saved = await repository.save_analysis(conn, msg)
    auto = await repository.auto_pipeline(conn, msg.page_id)
    stages = await cache.stages(conn, auto.pipeline_id, auto.version) if auto else ()
    a = msg.analysis
    decision = place(
        contact_pipeline_id=saved["pipeline_id"], contact_stage_id=saved["stage_id"],
        auto_pipeline_id=auto.pipeline_id if auto else None,
        mode=auto.mode if auto else "SKIP_EXISTING",
        stages=stages, score=a.lead_score, status=a.lead_status, recommended=a.recommended_stage,
    )
    if decision.action == "keep" or auto is None or decision.target is None:
        return Outcome("applied", decision)
    current, target = decision.current, decision.target
    details = {
        "from": current.name if current else None,
        "to": target.name,
        "score": a.lead_score,
        "status": a.lead_status,
        "rule": str(decision.rule),
        "mode": auto.mode,
        "downgrade_blocked": decision.action == "blocked",
        "analyzed_through": msg.analyzed_through.isoformat(),
    }
    from_id = current.id if current else None
    if decision.action == "blocked":
        # The contact stays; the refused target is kept in the details for a person to review.
        await repository.add_activity(
            conn, saved["id"], "STAGE_CHANGE_BLOCKED", from_stage_id=from_id, to_stage_id=None,
            lead_score=a.lead_score,
            details={**details, "blocked": "downgrade", "target_stage_id": target.id},
        )
        return Outcome("applied", decision)
    await repository.move(conn, saved["id"], auto.pipeline_id, target.id)
    await repository.add_activity(
        conn, saved["id"], "STAGE_CHANGED", from_stage_id=from_id, to_stage_id=target.id,
        lead_score=a.lead_score, details=details,
    )
    return Outcome("applied", decision)


def report(msg: ContactScored, outcome: Outcome) -> None:
    """Metrics and one log line per analysis, after the transaction committed."""
    decision = outcome.decision
    fields = {"page_id": msg.page_id, "contact_id": msg.contact_id, "job_id": msg.job_id,
              "score": msg.analysis.lead_score}
    if outcome.result == "stale":
        STALE_DROPPED.inc()
        log.info("contact.stale_analysis_dropped", **fields)
    elif outcome.result == "repeat":
        log.info("contact.analysis_already_applied", **fields)
    elif decision is not None and decision.action == "move":
        STAGE_CHANGES.labels(str(decision.rule)).inc()
        log.info("contact.stage_changed", **fields, rule=str(decision.rule),
                 stage=decision.target.name if decision.target else None,
                 previous=decision.current.name if decision.current else None)
    elif decision is not None and decision.action == "blocked":
        DOWNGRADES_BLOCKED.inc()
        log.info("contact.downgrade_blocked", **fields,
                 stage=decision.current.name if decision.current else None,
                 refused=decision.target.name if decision.target else None)
    else:
        log.info("contact.updated", **fields, placement=decision.reason if decision else None)
