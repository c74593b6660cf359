"""The analyzer's own rows: per-conversation revisions and last analysis, and the page's stages."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.analyzer import transcript
from services.analyzer.transcript import Key
from shared.messages import Analysis, ChatMessage, ConversationUpdated
from shared.vocabulary import Stage, StageType


@dataclass(frozen=True)
class State:
    """Where a conversation stands: its transcript revision and what the last analysis covered."""

    revision: int
    analyzed_revision: int
    analysis: Analysis | None = None
    analyzed_through: datetime | None = None
    message_count: int = 0

    @property
    def covered(self) -> bool:
        """True when the last published analysis already saw every stored change."""
        return self.analysis is not None and self.analyzed_revision >= self.revision


@dataclass(frozen=True)
class Stored:
    """What a store changed: rows inserted or updated, and customer messages seen for the first time."""

    changed: int
    new_customer: int


# The event's messages upserted and the change counted in one statement (no transaction of its
# own, issue 15): the conversation's revision grows by one when any row changed.
_STORE = f"""
WITH stored AS ({transcript.UPSERT}
), bumped AS (
    INSERT INTO analyzer_conversations AS c (page_id, platform, contact_external_id, revision)
    VALUES ($1, $2, $3, CASE WHEN EXISTS (SELECT 1 FROM stored) THEN 1 ELSE 0 END)
    ON CONFLICT (page_id, platform, contact_external_id) DO UPDATE
        SET revision = c.revision + excluded.revision, updated_at = now()
    RETURNING revision, analyzed_revision, analysis, analyzed_through, message_count
)
SELECT b.*, (SELECT count(*) FROM stored) AS changed,
       (SELECT count(*) FROM stored WHERE new_customer) AS new_customer
FROM bumped b
"""  # noqa: S608 - constant SQL fragments, no input


async def store(conn: asyncpg.Connection | asyncpg.Pool, event: ConversationUpdated) -> tuple[Stored, State]:
    """Upsert the event's messages and count the change; returns what changed and the state.

    A redelivery changes no row (changed is 0) and leaves the revision as it was.
    """
    row = await conn.fetchrow(_STORE, *transcript.upsert_args(event))
    return Stored(row["changed"], row["new_customer"]), _state(row)


@dataclass(frozen=True)
class Snapshot:
    """A conversation as one statement saw it: its state, its transcript and the page's stages."""

    state: State
    history: list[ChatMessage]
    stages: list[Stage]


_SNAPSHOT = f"""
SELECT c.revision, c.analyzed_revision, c.analysis, c.analyzed_through, c.message_count,
       CASE WHEN $5 OR c.analysis IS NULL OR c.analyzed_revision < c.revision
            THEN ({transcript.LOAD_JSON}) END AS history,
       CASE WHEN $5 OR c.analysis IS NULL OR c.analyzed_revision < c.revision THEN (
           SELECT coalesce(jsonb_agg(jsonb_build_object(
                      'name', s.name, 'type', s.type, 'lead_score_min', s.lead_score_min,
                      'lead_score_max', s.lead_score_max) ORDER BY s.position), '[]'::jsonb)
           FROM pages p JOIN stages s ON s.pipeline_id = p.auto_pipeline_id WHERE p.id = $1)
       END AS stages
FROM (SELECT 1) one
LEFT JOIN analyzer_conversations c
       ON c.page_id = $1 AND c.platform = $2 AND c.contact_external_id = $3
"""  # noqa: S608 - constant SQL fragments, no input


async def snapshot(
    conn: asyncpg.Connection | asyncpg.Pool, key: Key, *, limit: int, token_budget: int, always: bool = False
) -> Snapshot:
    """The state and, unless the last analysis covers it (or `always`), the transcript within
    the budget and the stages of the page's auto pipeline: one statement, one snapshot."""
    row = await conn.fetchrow(_SNAPSHOT, key.page_id, key.platform, key.contact_id, limit, always)
    state = _state(row) if row["revision"] is not None else State(0, 0)
    history = transcript.from_json(row["history"] or [], token_budget)
    stages = [
        Stage(
            name=s["name"],
            type=StageType(s["type"]),
            lead_score_min=s["lead_score_min"],
            lead_score_max=s["lead_score_max"],
        )
        for s in row["stages"] or []
    ]
    return Snapshot(state, history, stages)


def _state(row: asyncpg.Record) -> State:
    analysis = Analysis.model_validate(row["analysis"]) if row["analysis"] is not None else None
    return State(
        row["revision"],
        row["analyzed_revision"],
        analysis,
        row["analyzed_through"],
        row["message_count"] or 0,
    )


@dataclass(frozen=True)
class Mark:
    """A published analysis to record on its conversation."""

    key: Key
    revision: int
    analysis: Analysis
    analyzed_through: datetime
    message_count: int


async def mark_analysed(conn: asyncpg.Connection | asyncpg.Pool, marks: Sequence[Mark]) -> None:
    """Record published analyses in one statement; an older revision never overwrites a newer one
    (of one conversation's marks only the newest is written: the others would lose to it)."""
    newest: dict[Key, Mark] = {}
    for m in marks:
        if m.key not in newest or newest[m.key].revision <= m.revision:
            newest[m.key] = m
    rows = [newest[k] for k in sorted(newest, key=lambda k: (k.page_id, k.platform, k.contact_id))]
    await conn.execute(
        """
        UPDATE analyzer_conversations c SET analyzed_revision = m.revision,
               analysis = m.analysis::jsonb, analyzed_through = m.analyzed_through,
               message_count = m.message_count, updated_at = now()
        FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[],
                    $6::timestamptz[], $7::int[])
             AS m(page_id, platform, contact_external_id, revision, analysis, analyzed_through,
                  message_count)
        WHERE c.page_id = m.page_id AND c.platform = m.platform
          AND c.contact_external_id = m.contact_external_id AND c.analyzed_revision <= m.revision
        """,
        [m.key.page_id for m in rows],
        [m.key.platform for m in rows],
        [m.key.contact_id for m in rows],
        [m.revision for m in rows],
        [m.analysis.model_dump_json() for m in rows],
        [m.analyzed_through for m in rows],
        [m.message_count for m in rows],
    )


class Marks:
    """`await marks.add(mark)` returns once the mark is written (or raises its error).

    Marks that arrive while one statement runs go together in the next (issue 15: a delivery's
    analyses are published together, so they are marked together). When a statement of several
    fails, each is written alone, so only a bad one fails.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._pending: list[tuple[Mark, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, mark: Mark) -> None:
        done = asyncio.get_running_loop().create_future()
        self._pending.append((mark, done))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write())
        await asyncio.shield(done)

    async def _write(self) -> None:
        batch: list[tuple[Mark, asyncio.Future[None]]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await mark_analysed(self._pool, [m for m, _ in batch])
                except Exception as err:
                    if len(batch) == 1:
                        _settle(batch, err)
                        continue
                    for one in batch:  # each alone: only a bad one fails
                        try:
                            await mark_analysed(self._pool, [one[0]])
                        except Exception as alone:
                            _settle([one], alone)
                        else:
                            _settle([one], None)
                else:
                    _settle(batch, None)
        except BaseException:
            for _, done in batch + self._pending:
                done.cancel()
            self._pending = []
            raise
        finally:
            self._writer = None


def _settle(batch: list[tuple[Mark, asyncio.Future[None]]], err: BaseException | None) -> None:
    for _, done in batch:
        if done.done():
            continue
        if err is None:
            done.set_result(None)
        else:
            done.set_exception(err)
            done.exception()  # retrieved: its waiter re-raises it


async def save_names(conn: asyncpg.Connection | asyncpg.Pool, names: list[tuple[str, str, str, str]]) -> None:
    """Names looked up after their contacts were scored (or before the assigner created them):
    the assigner keeps a stored name (`coalesce(new, stored)`), so the order of writes is free."""
    await conn.execute(
        """
        INSERT INTO contacts AS c (page_id, platform, external_id, name)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
        ON CONFLICT (page_id, platform, external_id) DO UPDATE SET name = EXCLUDED.name,
            updated_at = now()
        WHERE c.name IS DISTINCT FROM EXCLUDED.name
        """,
        *(list(column) for column in zip(*names, strict=True)),
    )
