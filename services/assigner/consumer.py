"""Handles contact.scored: bring the contact up to date and place it, one transaction per delivery.

Every analysis is appended to the score ledger. An analysis of a RESCORE job is always placed
again (its result may equal the stored one while the stages changed) and its move recorded on
the job item; a dry run's analysis goes through the very same decision but writes nothing except
that item, so the real run makes exactly the moves the dry run reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
import structlog
from prometheus_client import Counter, Gauge

from services.assigner import ledger, repository
from services.assigner.pipelines import PipelineCache
from services.assigner.stages import Decision, best_stage, move_kind, place
from shared import settlement
from shared.broker import Delivery
from shared.errors import PermanentError
from shared.messages import ContactScored
from shared.vocabulary import ItemOutcome, PipelineMode

log = structlog.get_logger("leadsync.assigner")

STAGE_CHANGES = Counter(
    "leadsync_assigner_stage_changes_total", "Contacts moved to another stage, by §7.1 rule.", ["rule"]
)
DOWNGRADES_BLOCKED = Counter(
    "leadsync_assigner_downgrades_blocked_total", "Stage changes refused by downgrade protection."
)
WON_KEPT = Counter(
    "leadsync_assigner_won_kept_total",
    "Analyses that would have moved a contact out of a Won stage (a person moves it, §7.3).",
)
STALE_DROPPED = Counter(
    "leadsync_assigner_stale_analyses_dropped_total",
    "Analyses older than the contact's last one, dropped (their job item still counts).",
)
SHADOW_ANALYSES = Counter(
    "leadsync_shadow_analyses_total",
    "Shadow analyses compared with the live one, by the live status (label) and whether the "
    "shadow's status agreed.",
    ["label", "agreed"],
)
SHADOW_AGREEMENT = Gauge(
    "leadsync_shadow_agreement",
    "Share of shadow analyses whose status agrees with the live one since this process started, "
    "by the live status (label); 'all' for every label.",
    ["label"],
)
SHADOW_STAGE_DISAGREEMENTS = Counter(
    "leadsync_shadow_stage_disagreements_total",
    "Shadow analyses that §7.1 would place in another stage than the live analysis.",
)


@dataclass(frozen=True)
class Shadow:
    """How a shadow analysis compared with the live one (counted after commit)."""

    label: str
    agreed: bool
    same_stage: bool | None  # None without an auto pipeline to place in


@dataclass(frozen=True)
class Outcome:
    result: Literal["applied", "stale", "repeat"]
    decision: Decision | None = None
    dry_run: bool = False
    shadow: Shadow | None = None
    detail: dict[str, Any] | None = None  # a RESCORE item's move


class JobKinds:
    """Each job's kind and parameters (they never change), read once per process."""

    def __init__(self) -> None:
        self._seen: dict[str, settlement.JobInfo | None] = {}

    async def __call__(self, conn: asyncpg.Connection, job_id: str | None) -> settlement.JobInfo | None:
        if job_id is None:
            return None
        if job_id not in self._seen:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[job_id] = await settlement.info(conn, job_id)
        return self._seen[job_id]


@dataclass
class Assigner:
    """The assigner's handler: what it keeps between deliveries (stages, job kinds seen)."""

    pool: asyncpg.Pool
    cache: PipelineCache = field(default_factory=PipelineCache)
    kinds: JobKinds = field(default_factory=lambda: JobKinds())

    async def handle(self, delivery: Delivery[ContactScored]) -> None:
        await handle(delivery, pool=self.pool, cache=self.cache, kinds=self.kinds)


async def handle(
    delivery: Delivery[ContactScored],
    *,
    pool: asyncpg.Pool,
    cache: PipelineCache,
    kinds: JobKinds | None = None,
) -> None:
    """Settle a delivery (one message or a batch) as a whole: all its effects commit together."""
    kinds = kinds or JobKinds()
    # The same contact twice in a batch is applied oldest first, as if delivered in order.
    items = sorted(delivery.items, key=lambda m: (repository.contact_lock_key(m), m.analyzed_through))
    try:
        async with pool.acquire() as conn, conn.transaction():
            # Contacts are locked first (ascending keys), job rows last (ascending ids): no cycles.
            await repository.lock_contacts(conn, [repository.contact_lock_key(m) for m in items])
            # A page's auto pipeline is read once per batch: one transaction, one answer.
            autos: dict[str, repository.AutoPipeline | None] = {}
            found: dict[int, Outcome] = {}
            # Set-based statements per round; a contact seen twice goes again in the next round,
            # so it is applied oldest first as if delivered in order (issue 15).
            for batch in _rounds(items):
                infos = [await kinds(conn, items[i].job_id) for i in batch]
                done = await apply(conn, [items[i] for i in batch], cache, infos, autos=autos)
                found.update(zip(batch, done, strict=True))
            outcomes = [found[i] for i in range(len(items))]
            # One statement per job for the whole batch (issue 15).
            for job_id, settled in settlement.by_job(
                [
                    (
                        msg.job_id,
                        settlement.Settlement(
                            msg.platform, msg.contact_id, ItemOutcome.SYNCED, detail=outcome.detail
                        ),
                    )
                    for msg, outcome in zip(items, outcomes, strict=True)
                    if msg.job_id
                ]
            ):
                await settlement.settle_items(conn, job_id, settled)
    except (asyncpg.ForeignKeyViolationError, asyncpg.DataError) as err:
        # A job_id that is not a uuid or names no job will not get better by retrying.
        raise PermanentError(f"contact.scored refers to data that does not exist: {err}") from err
    for msg, outcome in zip(items, outcomes, strict=True):
        report(msg, outcome)


def _rounds(items: list[ContactScored]) -> list[list[int]]:
    """Indexes of the items by round: each contact at most once per round, in the items' order."""
    rounds: list[list[int]] = []
    seen: dict[repository.Key, int] = {}
    for i, msg in enumerate(items):
        n = seen[repository.key_of(msg)] = seen.get(repository.key_of(msg), -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(i)
    return rounds


async def apply(
    conn: asyncpg.Connection,
    msgs: list[ContactScored],
    cache: PipelineCache,
    infos: list[settlement.JobInfo | None],
    *,
    autos: dict[str, repository.AutoPipeline | None],
) -> list[Outcome]:
    """Analyses of distinct contacts: ledger each, drop it if stale, else update the contact and
    apply §7.4, in a few set-based statements for all of them.

    A dry run (a RESCORE job with dry_run) decides the same way and writes nothing.
    """
    rows = await repository.contacts(conn, msgs)
    early: dict[int, Outcome] = {}
    entries: list[ledger.Entry] = []
    for i, (msg, job) in enumerate(zip(msgs, infos, strict=True)):
        rescore = job is not None and job.rescore
        dry = rescore and job is not None and job.dry_run
        row = rows.get(repository.key_of(msg))
        if row is None or row["analyzed_through"] is None:
            continue
        reason: Literal["stale", "repeat"] | None = None
        if row["analyzed_through"] > msg.analyzed_through:
            reason = "stale"
        elif not rescore and repository.holds_analysis(row, msg):
            reason = "repeat"
        if reason is not None:
            if not dry:
                entries.append((row["id"], msg, msg.analysis, False))
            early[i] = Outcome(
                reason, dry_run=dry, detail=_detail(row, msg, None, reason=reason) if rescore else None
            )
    live = [
        i
        for i, job in enumerate(infos)
        if i not in early and not (job is not None and job.rescore and job.dry_run)
    ]
    saved = await repository.save_analyses(conn, [msgs[i] for i in live]) if live else {}
    for i in live:
        msg = msgs[i]
        contact_id = saved[repository.key_of(msg)]["id"]
        entries.append((contact_id, msg, msg.analysis, False))
        if msg.shadow is not None:
            entries.append((contact_id, msg, msg.shadow, True))
    inserted = await ledger.append(conn, entries)
    activities: list[repository.Activity] = []
    outcomes: list[Outcome] = []
    for i, (msg, job) in enumerate(zip(msgs, infos, strict=True)):
        if i in early:
            outcomes.append(early[i])
            continue
        row = rows.get(repository.key_of(msg))
        dry = job is not None and job.rescore and job.dry_run
        stored = row if dry else saved[repository.key_of(msg)]
        outcomes.append(await _place(conn, msg, cache, job, row, stored, inserted, autos, activities))
    await repository.record(conn, activities)
    return outcomes


async def _place(
    conn: asyncpg.Connection,
    msg: ContactScored,
    cache: PipelineCache,
    job: settlement.JobInfo | None,
    row: asyncpg.Record | None,
    stored: asyncpg.Record | None,
    inserted: set[tuple[str, str]],
    autos: dict[str, repository.AutoPipeline | None],
    activities: list[repository.Activity],
) -> Outcome:
    """§7.4 for one analysis whose contact is up to date; its move and activity are added to
    `activities` (written with the batch's)."""
    rescore = job is not None and job.rescore
    dry = rescore and job is not None and job.dry_run
    contact_id = stored["id"] if stored is not None else None
    pipeline_id = stored["pipeline_id"] if stored is not None else None
    stage_id = stored["stage_id"] if stored is not None else None
    if msg.page_id in autos:
        auto = autos[msg.page_id]
    else:
        auto = autos[msg.page_id] = await repository.auto_pipeline(conn, msg.page_id)
    stages = await cache.stages(conn, auto.pipeline_id, auto.version, save=not dry) if auto else ()
    a = msg.analysis
    decision = place(
        contact_pipeline_id=pipeline_id,
        contact_stage_id=stage_id,
        auto_pipeline_id=auto.pipeline_id if auto else None,
        mode=auto.mode if auto else PipelineMode.SKIP_EXISTING,
        stages=stages,
        score=a.lead_score,
        status=a.lead_status,
        recommended=a.recommended_stage,
    )
    shadow = None
    if msg.shadow is not None and contact_id is not None and not dry:
        shadow_id = ledger.analysis_id(msg, msg.shadow, shadow=True)
        if (contact_id, shadow_id) in inserted:
            shadow = _shadow(msg, stages)
    outcome = Outcome("applied", decision, dry, shadow, _detail(row, msg, decision) if rescore else None)
    if dry or decision.action == "keep" or auto is None or decision.target is None:
        return outcome
    assert contact_id is not None
    current, target = decision.current, decision.target
    details = {
        "from": current.name if current else None,
        "to": target.name,
        "score": a.lead_score,
        "status": a.lead_status,
        "rule": str(decision.rule),
        "mode": auto.mode,
        "downgrade_blocked": decision.reason == "downgrade",
        "analyzed_through": msg.analyzed_through.isoformat(),
    }
    if msg.job_id is not None:
        details["job_id"] = msg.job_id
    from_id = current.id if current else None
    if decision.action == "blocked":
        # The contact stays; the refused target is kept in the details for a person to review.
        activities.append(
            repository.Activity(
                contact_id,
                "STAGE_CHANGE_BLOCKED",
                from_id,
                None,
                a.lead_score,
                {**details, "blocked": decision.reason, "target_stage_id": target.id},
            )
        )
        return outcome
    activities.append(
        repository.Activity(
            contact_id,
            "STAGE_CHANGED",
            from_id,
            target.id,
            a.lead_score,
            details,
            move_to=(auto.pipeline_id, target.id),
        )
    )
    return outcome


def _shadow(msg: ContactScored, stages: tuple[Any, ...]) -> Shadow:
    """Compare a shadow analysis the ledger saw for the first time with the live one."""
    shadow = msg.shadow
    assert shadow is not None
    live = msg.analysis
    same_stage = None
    if stages:
        mine = best_stage(stages, live.lead_score, live.lead_status, live.recommended_stage)
        theirs = best_stage(stages, shadow.lead_score, shadow.lead_status, shadow.recommended_stage)
        same_stage = (mine.stage.id if mine else None) == (theirs.stage.id if theirs else None)
    return Shadow(live.lead_status, shadow.lead_status == live.lead_status, same_stage)


def _detail(
    row: asyncpg.Record | None, msg: ContactScored, decision: Decision | None, *, reason: str | None = None
) -> dict[str, Any]:
    """A RESCORE item's move, as jobs.result lists it (the same for a dry and a real run)."""
    current = decision.current if decision is not None else None
    target = decision.target if decision is not None else None
    return {
        "contact_id": str(row["id"]) if row is not None else None,
        "name": msg.contact_name or (row["name"] if row is not None else None),
        "platform": msg.platform,
        "external_id": msg.contact_id,
        "from": current.name if current else (row["stage_name"] if row is not None else None),
        "to": target.name if target else None,
        "move": move_kind(decision) if decision is not None else "unchanged",
        "reason": reason or (decision.reason if decision is not None else None),
        "score_before": row["lead_score"] if row is not None else None,
        "score_after": msg.analysis.lead_score,
        "status_before": row["lead_status"] if row is not None else None,
        "status_after": msg.analysis.lead_status,
    }


_agreement: dict[str, list[int]] = {}


def _count_shadow(shadow: Shadow) -> None:
    SHADOW_ANALYSES.labels(shadow.label, str(shadow.agreed).lower()).inc()
    for label in (shadow.label, "all"):
        seen = _agreement.setdefault(label, [0, 0])
        seen[0] += shadow.agreed
        seen[1] += 1
        SHADOW_AGREEMENT.labels(label).set(seen[0] / seen[1])
    if shadow.same_stage is False:
        SHADOW_STAGE_DISAGREEMENTS.inc()


def report(msg: ContactScored, outcome: Outcome) -> None:
    """Metrics and one log line per analysis, after the transaction committed."""
    decision = outcome.decision
    fields = {
        "page_id": msg.page_id,
        "contact_id": msg.contact_id,
        "job_id": msg.job_id,
        "score": msg.analysis.lead_score,
    }
    if outcome.shadow is not None:
        _count_shadow(outcome.shadow)
    if outcome.dry_run:
        log.info("contact.dry_run", **fields, move=(outcome.detail or {}).get("move"))
    elif outcome.result == "stale":
        STALE_DROPPED.inc()
        log.info("contact.stale_analysis_dropped", **fields)
    elif outcome.result == "repeat":
        log.info("contact.analysis_already_applied", **fields)
    elif decision is not None and decision.action == "move":
        STAGE_CHANGES.labels(str(decision.rule)).inc()
        log.info(
            "contact.stage_changed",
            **fields,
            rule=str(decision.rule),
            stage=decision.target.name if decision.target else None,
            previous=decision.current.name if decision.current else None,
        )
    elif decision is not None and decision.action == "blocked":
        (DOWNGRADES_BLOCKED if decision.reason == "downgrade" else WON_KEPT).inc()
        event = "contact.downgrade_blocked" if decision.reason == "downgrade" else "contact.won_kept"
        log.info(
            event,
            **fields,
            blocked=decision.reason,
            stage=decision.current.name if decision.current else None,
            refused=decision.target.name if decision.target else None,
        )
    else:
        log.info("contact.updated", **fields, placement=decision.reason if decision else None)
