"""Runs backfill jobs: claims a job, walks the page's conversations, publishes them, keeps the cursor.

A job is claimed with a conditional UPDATE (one worker per job), acknowledged, and run as a task
next to a watcher that beats the heartbeat and stops the walk as soon as the job is cancelled or
taken over. Every Graph page of conversations is published (confirmed) before its cursor and
items are saved, so a crash repeats at most one page and `job_enumerated` keeps the total exact.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import asyncpg
import structlog

from services.backfill import repository, walk
from services.backfill.health import PageHealth, calls_for_check
from services.backfill.rescore import RescoreWalk
from services.backfill.settings import BackfillSettings
from shared import logging, page_health, retry
from shared.broker import Delivery, Publisher
from shared.crypto import TokenCipher
from shared.errors import (
    BrokerUnavailable,
    ClaimLost,
    GraphError,
    RetryableError,
    TemporaryError,
    TokenInvalid,
)
from shared.graph import GraphClient
from shared.messages import BackfillRequested
from shared.vocabulary import JobKind

log = structlog.get_logger("leadsync.backfill")

RECONNECT_NEEDED = (
    "the page's access token expired or was invalidated (Graph error {code}{sub}); reconnect the "
    "page (Connect pages in the console, or POST /api/connect) and run the backfill again"
)
UNHEALTHY_PAGE = (
    "the page's access token is no longer valid ({status}, checked before the job started); "
    "reconnect the page (Connect pages in the console, or POST /api/connect)"
)


@dataclass
class Worker:
    pool: asyncpg.Pool
    publisher: Publisher
    graph: GraphClient
    cipher: TokenCipher | None
    settings: BackfillSettings
    worker_id: str
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    health: PageHealth | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.settings.prefetch)

    async def handle(self, delivery: Delivery[BackfillRequested]) -> None:
        """backfill.requested: claim the job and start it; the message is acked once it runs."""
        for request in delivery.items:
            await self._take_slot()
            try:
                job = await repository.claim(
                    self.pool, request.job_id, self.worker_id, self.settings.backfill_stale_after_s
                )
            except BaseException:
                self._slots.release()
                raise
            if job is None:
                self._slots.release()
                log.info("job.not_claimed", job_id=request.job_id)  # done, cancelled or running
                continue
            task = asyncio.create_task(self._run(job))
            self._tasks.add(task)
            task.add_done_callback(self._finished)

    async def _take_slot(self) -> None:
        slot = asyncio.ensure_future(self._slots.acquire())
        stop = asyncio.ensure_future(self.stopping.wait())
        await asyncio.wait({slot, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not slot.done() or self.stopping.is_set():
            slot.cancel()
            if slot.done() and not slot.cancelled():
                self._slots.release()
            raise RetryableError("shutting down; another worker will take the job")

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            err = task.exception()
            log.error("job.runner_failed", error=str(err) or type(err).__name__)

    async def shutdown(self) -> None:
        """Stop every running job at its next step and give it back for another worker."""
        self.stopping.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, job: asyncpg.Record) -> None:
        job_id = str(job["id"])
        with structlog.contextvars.bound_contextvars(job_id=job_id, page_id=job["page_id"]):
            log.info("job.started", kind=job["kind"], resumed=job["cursor"] is not None)
            walker = asyncio.create_task(self._walk(job))
            try:
                outcome = await self._watch(job_id, walker)
            except Exception:
                log.exception("job.watcher_failed")
                walker.cancel()
                await asyncio.gather(walker, return_exceptions=True)
                outcome = "stopping"  # give it back so another worker (or this one) resumes it
            if outcome == "done" and not walker.cancelled() and walker.exception() is not None:
                # Left IN_PROGRESS without heartbeats: the stale-job sweep retries it later.
                err = walker.exception()
                log.error("job.crashed", error=str(err) or type(err).__name__, error_type=type(err).__name__)
            elif outcome == "stopping":
                await self._give_back(job_id)
            elif outcome == "lost":
                log.info("job.stopped", reason="cancelled or taken over")

    async def _watch(self, job_id: str, walker: asyncio.Task[None]) -> str:
        """Beat the heartbeat until the walk ends; cancel it on cancel, takeover or shutdown."""
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {walker, stop},
                    timeout=self.settings.backfill_heartbeat_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if walker in done:
                    return "done"
                alive = not self.stopping.is_set() and await _safe_beat(self.pool, job_id, self.worker_id)
                if not alive:
                    walker.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await walker
                    return "stopping" if self.stopping.is_set() else "lost"
        finally:
            stop.cancel()

    async def _give_back(self, job_id: str) -> None:
        if await repository.release(self.pool, job_id, self.worker_id):
            log.info("job.released")
            with contextlib.suppress(BrokerUnavailable):
                await self.publisher.publish(BackfillRequested(job_id=job_id))

    async def _walk(self, job: asyncpg.Record) -> None:
        job_id = str(job["id"])
        if job["kind"] == JobKind.RESCORE:
            await self._rescore(job)
            return
        page = await repository.page(self.pool, job["page_id"])
        token = self._token(page)
        if page is None or token is None:
            reason = (
                "the page no longer exists"
                if page is None
                else ("the page has no usable access token; add one with PATCH /api/pages/{id}")
            )
            await repository.fail(self.pool, job_id, reason)
            log.warning("job.failed", error=reason)
            return
        logging.add_secrets([token])
        if self.health is not None:
            # Before walking anything: a dead token fails the job at once (token_expired).
            health = await self.health.check(page["id"])
            if health is not None and health["status"] in page_health.BAD_TOKEN:
                message = UNHEALTHY_PAGE.format(status=health["status"])
                await repository.fail(self.pool, job_id, message, token_expired=True)
                log.warning("job.failed", error=message, token_expired=True)
                return
        try:
            await self._walk_through_outages(job, page, token)
        except TokenInvalid as err:
            sub = f"/{err.subcode}" if err.subcode else ""
            message = RECONNECT_NEEDED.format(code=err.code, sub=sub, page=page["id"])
            await repository.fail(self.pool, job_id, message, token_expired=True)
            log.warning("job.failed", error=message, token_expired=True)
            if self.health is not None:
                await self.health.check(page["id"])
        except ClaimLost:
            log.info("job.stopped", reason="cancelled or taken over")
        except (TemporaryError, BrokerUnavailable) as err:
            # Worth another go from the saved cursor, not a failed job: with its heartbeat
            # stopped, the stale-job sweep hands it out again after BACKFILL_STALE_AFTER_S.
            log.warning("job.interrupted", error=str(err), retry_in_s=self.settings.backfill_stale_after_s)
        except GraphError as err:
            message = f"the Graph API refused the conversation list: {err.message}"
            await repository.fail(self.pool, job_id, message)
            log.warning("job.failed", error=message, code=err.code)
            if self.health is not None and calls_for_check(err.code):
                await self.health.check(page["id"])

    async def _walk_through_outages(self, job: asyncpg.Record, page: asyncpg.Record, token: str) -> None:
        """Walk; while the database is away, wait and go on from the saved cursor (the claim
        holds: the watcher keeps it through failed heartbeats)."""
        delay = 1.0
        while True:
            run = walk.JobWalk(self, job, page, token)
            try:
                await run.run()
                return
            except Exception as err:
                kind, reason = retry.classify(err)
                if kind != "transient" or reason not in retry.SUSPECT_DATABASE:
                    raise
                log.warning("job.interrupted", error=type(err).__name__, reason=reason, retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            with contextlib.suppress(Exception):  # still away: the next walk fails and waits again
                job = await repository.job(self.pool, str(job["id"])) or job

    async def _rescore(self, job: asyncpg.Record) -> None:
        """Replay the page's stored transcripts: no Graph call, so no token is needed."""
        try:
            await RescoreWalk(self.pool, self.publisher, self.worker_id, job).run()
        except ClaimLost:
            log.info("job.stopped", reason="cancelled or taken over")
        except BrokerUnavailable as err:
            log.warning("job.interrupted", error=str(err), retry_in_s=self.settings.backfill_stale_after_s)

    def _token(self, page: asyncpg.Record | None) -> str | None:
        if page is None or page["access_token_enc"] is None or self.cipher is None:
            return None
        try:
            return self.cipher.decrypt(page["access_token_enc"])
        except ValueError:
            return None


async def _safe_beat(pool: asyncpg.Pool, job_id: str, worker: str) -> bool:
    try:
        return await repository.beat(pool, job_id, worker)
    except Exception as err:
        # A missed beat is not a lost claim; the next one will tell. Whatever the error, the
        # watcher goes on: without it the job would run on unbeaten and be taken over.
        log.warning("job.heartbeat_failed", error=type(err).__name__)
        return True
