"""One job's walk over a page's conversations: Messenger and Instagram, page by Graph page.

FULL and INCREMENTAL jobs list conversations newest first (an incremental walk stops at the
first thread not updated since the page's last sync); RETRY jobs fetch the failed items of an
earlier job one customer at a time. Each Graph page is published, then recorded with its cursor.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg
import structlog
from prometheus_client import Counter

from services.backfill import repository
from services.backfill.repository import Item
from services.backfill.settings import BackfillSettings
from shared.broker import Publisher
from shared.errors import GraphError, RateLimited, TemporaryError, TokenInvalid
from shared.graph import Conversation, ConversationPage, Failure, GraphClient
from shared.messages import ConversationUpdated, Platform, content_id
from shared.vocabulary import ItemOutcome, JobKind

log = structlog.get_logger("leadsync.backfill")

# Conversations per conversation.updated message (a batch body, DESIGN §4 and docs/decisions.md).
BATCH = 20

CONVERSATIONS = Counter(
    "leadsync_backfill_conversations_total",
    "Conversations enumerated by backfill jobs: published, empty (settled at once) or failed.",
    ["platform", "outcome"],
)


class Runner(Protocol):
    """What a walk uses of the worker that runs it."""

    pool: asyncpg.Pool
    publisher: Publisher
    graph: GraphClient
    settings: BackfillSettings
    worker_id: str


@dataclass
class JobWalk:
    """One run of `job` over the page's conversations, by `runner`, with the page's `token`."""

    runner: Runner
    job: asyncpg.Record
    page: asyncpg.Record
    token: str

    def __post_init__(self) -> None:
        self.pool, self.publisher, self.graph = self.runner.pool, self.runner.publisher, self.runner.graph
        self.settings, self.worker = self.runner.settings, self.runner.worker_id
        self.job_id = str(self.job["id"])
        self.instagram: str | None = self.page["instagram_account_id"]
        self.own = {self.page["id"], *([self.instagram] if self.instagram else [])}

    def platforms(self) -> list[Platform]:
        return ["messenger", "instagram"] if self.instagram else ["messenger"]

    def pace(self, platform: Platform) -> str:
        """Meta's limit is per page for Messenger and per Instagram account for Instagram."""
        return self.instagram if platform == "instagram" and self.instagram else self.page["id"]

    async def run(self) -> None:
        cursor: dict[str, Any] = self.job["cursor"] or {}
        if not cursor.get("done"):
            if self.job["kind"] == JobKind.RETRY:
                await self._retry(int(cursor.get("index", 0)))
            else:
                await self._list(cursor)
        completed = await repository.finish_enumeration(self.pool, self.job_id, self.worker)
        log.info("job.enumerated", completed=completed)

    async def _list(self, cursor: dict[str, Any]) -> None:
        """Both platforms at once: Meta limits them separately (per page, per Instagram account)."""
        since: datetime | None = None
        if self.job["kind"] == JobKind.INCREMENTAL and self.page["last_synced_at"] is not None:
            since = self.page["last_synced_at"] - timedelta(
                seconds=self.settings.backfill_incremental_overlap_s
            )
        walks = [
            asyncio.create_task(self._list_platform(p, cursor.get(p) or {}, since)) for p in self.platforms()
        ]
        try:
            await asyncio.gather(*walks)
        except BaseException:
            for task in walks:
                task.cancel()
            await asyncio.gather(*walks, return_exceptions=True)
            raise

    async def _list_platform(self, platform: Platform, state: dict[str, Any], since: datetime | None) -> None:
        """One platform, newest first, from its saved cursor; each Graph page recorded as it goes."""
        after = state.get("after")
        while not state.get("done"):
            result = await self.graph.conversations(
                self.page["id"],
                platform,
                self.token,
                after=after,
                limit=self.settings.backfill_page_size,
                page_objects=self.own,
                pace=self.pace(platform),
            )
            older = since is not None and _drop_older(result, since)
            items = await self._enumerate_and_publish(platform, result)
            after = None if older else result.after
            state = {"after": after, "done": after is None}
            await repository.record(self.pool, self.job_id, self.worker, {platform: state}, [])
            log.info("job.page", platform=platform, conversations=len(items), more=after is not None)

    async def _retry(self, start: int) -> None:
        """Fetch each failed item of the earlier job again, by its customer id."""
        todo = await repository.failed_items(self.pool, str(self.job["retry_of"]))
        for index in range(start, len(todo)):
            platform, contact_id = todo[index]
            try:
                result = await self.graph.conversations(
                    self.page["id"],
                    platform,
                    self.token,
                    after=None,
                    limit=1,
                    page_objects=self.own,
                    pace=self.pace(platform),
                    user_id=contact_id,
                )
            except (TokenInvalid, TemporaryError):
                raise
            except GraphError as err:
                # One customer's thread that still cannot be read fails alone, again.
                result = ConversationPage([], None, [Failure("", contact_id, err.message, err.code)])
            found = any(c.contact_id == contact_id for c in result.conversations) or any(
                f.contact_id == contact_id for f in result.failures
            )
            if not found:
                result.failures.append(Failure("", contact_id, "conversation not found", None))
            await self._enumerate_and_publish(platform, result)
            await repository.record(self.pool, self.job_id, self.worker, {"index": index + 1}, [])

    async def _enumerate_and_publish(self, platform: Platform, result: ConversationPage) -> list[Item]:
        """Count the page's items into the job's total, then publish its conversations (confirmed).

        Counting first keeps done <= total at every moment (items settle downstream as soon as
        they are published) and publishes nothing for a job cancelled meanwhile. The cursor is
        saved only after the publish, so a crash in between repeats this page: `job_enumerated`
        counts nothing twice and downstream settlement is idempotent.
        """
        items = [_failed(platform, f) for f in result.failures]
        events = []
        for conv in result.conversations:
            failure = await self._older_messages(conv)
            if failure is not None:
                items.append(_failed(platform, failure))
            elif not conv.messages:
                # Nothing to analyse, so nothing downstream would ever settle it.
                items.append(Item(platform, conv.contact_id, ItemOutcome.SYNCED))
            else:
                items.append(Item(platform, conv.contact_id))
                events.append(
                    ConversationUpdated(
                        page_id=self.page["id"],
                        platform=platform,
                        contact_id=conv.contact_id,
                        contact_name=conv.contact_name,
                        messages=conv.messages,
                        origin="backfill",
                        job_id=self.job_id,
                    )
                )
        await repository.record(self.pool, self.job_id, self.worker, {}, items)
        if events:
            # ≤ BATCH conversations per message (issue 15); a page walked again after a crash
            # makes the same batches, so their deterministic ids let consumers absorb repeats.
            batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
            await self.publisher.publish_many(
                [
                    (batch, content_id("backfill", self.job_id, platform, [e.contact_id for e in batch]))
                    for batch in batches
                ]
            )
        for item in items:
            outcome = {None: "published", "SYNCED": "empty"}.get(item.outcome, "failed")
            CONVERSATIONS.labels(platform, outcome).inc()
        return items

    async def _older_messages(self, conv: Conversation) -> Failure | None:
        """Page through a longer Messenger thread (Instagram details only the newest 20)."""
        after = conv.more_after
        limit = self.settings.backfill_max_messages
        while after and conv.platform == "messenger" and len(conv.messages) < limit:
            try:
                older, after = await self.graph.messages(
                    conv.id,
                    self.token,
                    own=self.own,
                    after=after,
                    limit=min(100, limit - len(conv.messages)),
                    pace=self.pace(conv.platform),
                )
            except (TokenInvalid, RateLimited):
                raise
            except GraphError as err:
                return Failure(conv.id, conv.contact_id, err.message, err.code)
            conv.messages = older + conv.messages
        return None


def _drop_older(result: ConversationPage, since: datetime) -> bool:
    """Keep the threads updated after `since`; True when an older one was reached (stop)."""
    kept: list[Conversation] = []
    for conv in result.conversations:
        if conv.updated_time <= since:
            result.conversations = kept
            return True
        kept.append(conv)
    return False


def _failed(platform: str, failure: Failure) -> Item:
    return Item(
        platform,
        failure.contact_id or failure.conversation_id,
        ItemOutcome.FAILED,
        failure.error,
        failure.code,
    )
