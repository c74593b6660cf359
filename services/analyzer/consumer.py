"""Handles conversation.updated: store the messages, score each conversation once, publish.

A delivery (one event or a batch) is acknowledged only after every item's effect is done:
its messages stored and a contact.scored covering them confirmed by RabbitMQ. Events of a
RESCORE job carry no messages: the stored transcript is scored again (with the job's prompt
version) and published for the assigner to place, or in a dry run to report the move.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import asyncpg
import structlog
from prometheus_client import Counter

from services.analyzer import fallback, repository
from services.analyzer.coalesce import Coalescer
from services.analyzer.outbox import Outbox
from services.analyzer.pages import UNCONNECTED, ConnectedPages
from services.analyzer.scorer import Scorer
from services.analyzer.settings import AnalyzerSettings
from services.analyzer.transcript import Key
from shared import job_admin, settlement
from shared.broker import Delivery, Publisher
from shared.errors import PermanentError, UnknownVersion
from shared.messages import Analysis, ContactScored, ConversationUpdated, Platform
from shared.text import is_uuid
from shared.vocabulary import ItemOutcome, JobStatus

# A name known now, or None (and the name, once looked up, is written to the contact later).
NameLookup = Callable[[str, Platform, str], str | None]

EVENTS = Counter(
    "leadsync_analyzer_events_total",
    "conversation.updated events by outcome: analysed (an analysis was made for it), coalesced "
    "(covered by another or an earlier analysis), cancelled (its job was cancelled), echo_only "
    "(only page replies), empty (nothing left to score), rescored (a RESCORE job's item), deferred "
    "(still waiting for the LLM when its delivery had been held ANALYZER_HOLD_S: published again).",
    ["outcome"],
)

RECONCILED = Counter(
    "leadsync_reconciled_messages_total",
    "Customer messages a scheduled incremental sync stored first: live delivery missed them.",
    ["page_id"],
)

log = structlog.get_logger("leadsync.analyzer")


@dataclass(frozen=True)
class Limits:
    """The analyzer's tunables, read from its settings (which hold the defaults)."""

    debounce_s: float
    max_messages: int
    token_budget: int
    # The longest a delivery is held for its analyses (RabbitMQ's consumer timeout is 30 min).
    hold_s: float
    # RESCORE items scored at once (the LLM's concurrency): each asks whether its job was
    # cancelled when its turn comes, so a cancel stops the queued ones.
    rescore_concurrency: int
    # How long "not cancelled" is believed. 0: ask every time (one primary-key read), so a
    # cancel stops LLM calls for the job's queued items at once; CANCELLED itself is cached.
    cancel_cache_s: float = 0.0
    # Rounds past their store at once (snapshot, prompt, LLM call, publish): what waits for the
    # LLM beyond it holds no transcript or prompt in memory (a backfill delivers 20 per message).
    analyses_in_flight: int = 400
    # How long "this page is connected" is believed (live events of other pages are not analysed).
    connected_cache_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: AnalyzerSettings) -> Limits:
        return cls(
            debounce_s=settings.analyzer_debounce_s,
            max_messages=settings.transcript_max_messages,
            token_budget=settings.transcript_token_budget,
            hold_s=settings.analyzer_hold_s,
            rescore_concurrency=settings.llm_concurrency,
            analyses_in_flight=max(64, 4 * settings.llm_concurrency),
            connected_cache_s=settings.analyzer_connected_cache_s,
        )


def identified(analysis: Analysis) -> Analysis:
    """The analysis with an id of its own: the score ledger keeps one row per analysis."""
    return analysis.model_copy(update={"analysis_id": uuid.uuid4().hex})


def _retrieved(task: asyncio.Task[None]) -> None:
    """A deferred event's analysis finished in the background: its error is the new copy's."""
    if not task.cancelled() and task.exception() is not None:
        log.info("deferred.analysis_failed", error=type(task.exception()).__name__)


class JobLookup:
    """An event's job (status, kind, RESCORE parameters) with a short cache of its status.

    Kind and parameters never change; CANCELLED is final, so a cancelled job sticks.
    """

    def __init__(self, pool: asyncpg.Pool, ttl_s: float) -> None:
        self._pool = pool
        self._ttl = ttl_s
        self._seen: dict[str, tuple[float, settlement.JobInfo | None]] = {}
        # Lookups under way: the events of a batch ask together and share one read (issue 15).
        self._asking: dict[str, asyncio.Future[settlement.JobInfo | None]] = {}

    async def __call__(self, job_id: str) -> settlement.JobInfo | None:
        if not is_uuid(job_id):
            raise PermanentError(f"job_id {job_id[:80]!r} is not a job id (a UUID)")
        now = time.monotonic()
        cached = self._seen.get(job_id)
        if cached is not None and (
            cached[0] > now or (cached[1] and cached[1].status == JobStatus.CANCELLED)
        ):
            return cached[1]
        asking = self._asking.get(job_id)
        if asking is not None:
            try:
                return await asyncio.shield(asking)
            except asyncio.CancelledError:
                if not asking.cancelled():
                    raise  # this caller was cancelled
                return await settlement.info(self._pool, job_id)  # the one asking was: ask again
        asking = asyncio.get_running_loop().create_future()
        self._asking[job_id] = asking
        try:
            job = await settlement.info(self._pool, job_id)
        except asyncio.CancelledError:
            asking.cancel()
            raise
        except Exception as err:
            asking.set_exception(err)
            asking.exception()  # retrieved: every waiter re-raises it
            raise
        else:
            asking.set_result(job)
        finally:
            del self._asking[job_id]
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[job_id] = (now + self._ttl, job)
        return job


def _skipped(job: settlement.JobInfo | None) -> bool:
    """True (counted and logged) for an event of a cancelled job."""
    if job is None or job.status != JobStatus.CANCELLED:
        return False
    EVENTS.labels("cancelled").inc()
    log.info("conversation.skipped", reason="job cancelled")
    return True


class Analyzer:
    """The analyzer's handler and final-failure hook, with its dependencies passed in."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        publisher: Publisher,
        scorer: Scorer,
        limits: Limits,
        names: NameLookup | None = None,
    ) -> None:
        self._pool = pool
        self._marks = repository.Marks(pool)
        self._publisher = publisher
        self._scorer = scorer
        self._limits = limits
        self._names = names
        self._jobs = JobLookup(pool, limits.cancel_cache_s)
        self._pages = ConnectedPages(pool, limits.connected_cache_s)
        self._rescore_slots = asyncio.Semaphore(limits.rescore_concurrency)
        self._analysis_slots = asyncio.Semaphore(limits.analyses_in_flight)
        self._scheduled_jobs: dict[str, bool] = {}
        # The outbox of each event of a batch delivery being handled (by id: events are unhashable).
        self._outboxes: dict[int, Outbox] = {}
        self._rounds: Coalescer[Key, ConversationUpdated] = Coalescer(self._analyse, window=limits.debounce_s)

    async def handle(self, delivery: Delivery[ConversationUpdated]) -> None:
        """Settle a delivery as a whole: every item done, or the first error (retried).

        A delivery is held at most `hold_s`: events whose analyses are still waiting for the LLM
        then are published again as a new message (confirmed) and this one is acknowledged, so
        no message stays unacknowledged near RabbitMQ's consumer timeout however slow the LLM
        limits are. The waiting analyses go on; the new copy finds them done (or joins them).
        """
        tasks = [asyncio.ensure_future(self._one(event)) for event in delivery.items]
        if len(delivery.items) > 1:
            # The delivery's contact.scored results go out as one batch message (issue 15).
            outbox = Outbox(self._publisher, delivery.items)
            for event, task in zip(delivery.items, tasks, strict=True):
                self._outboxes[id(event)] = outbox
                task.add_done_callback(functools.partial(self._finished, event, outbox))
        done, pending = await asyncio.wait(tasks, timeout=self._limits.hold_s)
        for task in pending:
            task.add_done_callback(_retrieved)
        for task in tasks:
            if task in done and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        if pending:
            later = [e for e, t in zip(delivery.items, tasks, strict=True) if t in pending]
            await self._publisher.publish_many([(later if len(later) > 1 else later[0], None)])
            EVENTS.labels("deferred").inc(len(later))
            log.info("delivery.deferred", events=len(later), held_s=self._limits.hold_s)

    def _finished(self, event: ConversationUpdated, outbox: Outbox, _: object = None) -> None:
        self._outboxes.pop(id(event), None)
        outbox.arrived([event])

    async def _one(self, event: ConversationUpdated) -> None:
        key = Key.of(event)
        with structlog.contextvars.bound_contextvars(
            page_id=event.page_id, contact_id=event.contact_id, job_id=event.job_id
        ):
            job = await self._jobs(event.job_id) if event.job_id is not None else None
            if job is not None and job.rescore and event.job_id is not None:
                async with self._rescore_slots:
                    # Asked again when its turn comes: a cancel stops the items still waiting.
                    job = await self._jobs(event.job_id)
                    if job is not None and not _skipped(job):
                        await self._rescore(key, event, job)
                return
            if _skipped(job):
                return
            stored, state = await repository.store(self._pool, event)
            if stored.new_customer and event.job_id is not None and await self._scheduled(event.job_id):
                # A scheduled sync found customer messages the webhook never brought.
                RECONCILED.labels(event.page_id).inc(stored.new_customer)
            if event.origin == "webhook":
                if (unconnected := await self._pages(event.page_id)) is not None:
                    # Stored for the page's first backfill, which analyses it (DESIGN §2).
                    UNCONNECTED.labels(unconnected).inc()
                    log.info("conversation.not_analysed", reason=f"page {unconnected}")
                    return
                if state.covered:
                    EVENTS.labels("coalesced").inc()
                    return
                if (
                    event.messages
                    and all(m.from_page for m in event.messages)
                    and not fallback.page_may_decide(event.messages)
                ):
                    # The page's own reply says little about the lead; the customer's next
                    # message is analysed with it in the transcript. A reply that may settle the
                    # deal ("Payment received", "order cancelled") is analysed now.
                    EVENTS.labels("echo_only").inc()
                    return
            await self._rounds.submit(key, event, immediate=event.origin == "backfill")

    async def _scheduled(self, job_id: str) -> bool:
        """Whether the scheduler started the job (it never changes, so it is cached)."""
        if job_id not in self._scheduled_jobs:
            if len(self._scheduled_jobs) > 10_000:
                self._scheduled_jobs.clear()
            self._scheduled_jobs[job_id] = bool(
                await self._pool.fetchval("SELECT scheduled FROM jobs WHERE id = $1::uuid", job_id)
            )
        return self._scheduled_jobs[job_id]

    async def _analyse(self, key: Key, events: list[ConversationUpdated]) -> None:
        """One round: analyse the conversation once (unless already covered) and publish."""
        async with self._analysis_slots:
            await self._analyse_now(key, events)

    async def _analyse_now(self, key: Key, events: list[ConversationUpdated]) -> None:
        # The revision, the transcript and the stages in one snapshot: a change stored after it
        # has a higher revision and is analysed again.
        seen = await repository.snapshot(
            self._pool, key, limit=self._limits.max_messages, token_budget=self._limits.token_budget
        )
        state, history, stages = seen.state, seen.history, seen.stages
        if state.covered:
            assert state.analysis is not None and state.analyzed_through is not None
            EVENTS.labels("coalesced").inc(len(events))
            await self._publish(
                key, events, state.analysis, state.analyzed_through, state.message_count, only_jobs=True
            )
            return
        if not history:
            EVENTS.labels("empty").inc(len(events))
            await self._settle_empty(key, events)
            return
        now = datetime.now(UTC)
        analysis, shadow = await asyncio.gather(
            self._scorer.score(history, stages, now=now),
            self._scorer.score_shadow(history, stages, now=now),
        )
        analysis = identified(analysis)
        through = max(m.sent_at for m in history)
        await self._publish(
            key,
            events,
            analysis,
            through,
            len(history),
            only_jobs=False,
            shadow=identified(shadow) if shadow is not None else None,
        )
        await self._marks.add(repository.Mark(key, state.revision, analysis, through, len(history)))
        EVENTS.labels("analysed").inc()
        EVENTS.labels("coalesced").inc(len(events) - 1)
        log.info(
            "conversation.scored",
            score=analysis.lead_score,
            status=analysis.lead_status,
            fallback=analysis.used_fallback,
            events=len(events),
            messages=len(history),
            page_id=key.page_id,
            contact_id=key.contact_id,
        )

    async def _rescore(self, key: Key, event: ConversationUpdated, job: settlement.JobInfo) -> None:
        """A RESCORE job's item: score the stored transcript again and publish it for placement.

        A dry run leaves the conversation's recorded analysis alone: only its job hears of it.
        """
        seen = await repository.snapshot(
            self._pool,
            key,
            limit=self._limits.max_messages,
            token_budget=self._limits.token_budget,
            always=True,
        )
        state, history, stages = seen.state, seen.history, seen.stages
        if not history:
            EVENTS.labels("empty").inc()
            await self._settle_empty(key, [event])
            return
        assert event.job_id is not None
        try:
            analysis = await self._scorer.score(
                history, stages, now=datetime.now(UTC), version=job.prompt_version
            )
        except UnknownVersion as err:
            # Every item of the job would fail alike: the job fails once, with the reason.
            await job_admin.fail(self._pool, event.job_id, str(err))
            log.warning("rescore.failed", error=str(err))
            return
        analysis = identified(analysis)
        through = max(m.sent_at for m in history)
        await self._publish(key, [event], analysis, through, len(history), only_jobs=False)
        if not job.dry_run:
            await self._marks.add(repository.Mark(key, state.revision, analysis, through, len(history)))
        EVENTS.labels("rescored").inc()
        log.info(
            "conversation.rescored",
            score=analysis.lead_score,
            status=analysis.lead_status,
            dry_run=job.dry_run,
            prompt_version=analysis.prompt_version,
        )

    async def _publish(
        self,
        key: Key,
        events: list[ConversationUpdated],
        analysis: Analysis,
        through: datetime,
        count: int,
        *,
        only_jobs: bool,
        shadow: Analysis | None = None,
    ) -> None:
        """One contact.scored per (origin, job) among the events, so each job settles its item.

        `only_jobs`: the analysis was published before; only jobs still need to hear of it.
        """
        targets = {(e.origin, e.job_id): e for e in events if e.job_id is not None or not only_jobs}
        name = next((e.contact_name for e in events if e.contact_name), None)
        if name is None and targets:
            name = self._lookup_name(key)
        direct: list[ContactScored] = []
        batched: dict[int, tuple[Outbox, list[ConversationUpdated], list[ContactScored]]] = {}
        for e in events:
            outbox = self._outboxes.get(id(e))
            if outbox is not None:
                batched.setdefault(id(outbox), (outbox, [], []))[1].append(e)
        for (origin, job_id), e in targets.items():
            scored = ContactScored(
                page_id=key.page_id,
                platform=e.platform,
                contact_id=key.contact_id,
                contact_name=name,
                analysis=analysis,
                analyzed_through=through,
                message_count=count,
                origin=origin,
                job_id=job_id,
                shadow=shadow,
            )
            outbox = self._outboxes.get(id(e))
            if outbox is None:
                direct.append(scored)
            else:
                batched[id(outbox)][2].append(scored)
        # Every event of a batch delivery is reported to its outbox, with or without a result.
        await asyncio.gather(
            *(outbox.publish(evs, results) for outbox, evs, results in batched.values()),
            *([self._publisher.publish_many([(m, None) for m in direct])] if direct else []),
        )

    def _lookup_name(self, key: Key) -> str | None:
        # Never awaited: a name not known yet is looked up in the background and written to
        # the contact when it arrives, so scoring never waits for Meta.
        if self._names is None:
            return None
        return self._names(key.page_id, cast(Platform, key.platform), key.contact_id)

    async def _settle_empty(self, key: Key, events: list[ConversationUpdated]) -> None:
        """A backfilled conversation with nothing to score still settles its job item."""
        job_ids = {e.job_id for e in events if e.job_id is not None}
        if not job_ids:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            for job_id, settled in settlement.by_job(
                [
                    (job_id, settlement.Settlement(key.platform, key.contact_id, ItemOutcome.SYNCED))
                    for job_id in job_ids
                ]
            ):
                await settlement.settle_items(conn, job_id, settled)

    async def on_final_failure(self, delivery: Delivery[ConversationUpdated], err: BaseException) -> None:
        """The delivery limit is reached: record each backfill item FAILED so job counts stay exact."""
        items = [e for e in delivery.items if e.job_id is not None and is_uuid(e.job_id)]
        if not items:
            return
        reason = f"analysis failed: {str(err) or type(err).__name__}"[:500]
        async with self._pool.acquire() as conn, conn.transaction():
            for job_id, settled in settlement.by_job(
                [
                    (e.job_id, settlement.Settlement(e.platform, e.contact_id, ItemOutcome.FAILED, reason))
                    for e in items
                    if e.job_id is not None
                ]
            ):
                await settlement.settle_items(conn, job_id, settled)
