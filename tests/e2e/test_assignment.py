"""Contacts land in the stages §7 prescribes, through the real webhook (admin API) and two assigners.

The assigners are driven by ContactScored messages published into the real broker: the
analyzer's output contract, so these tests do not depend on how the analyzer scores. One
scenario in four phases, a test each, run in order on one stack (the module's `scenario`): each
phase starts from the state the previous one left, counted by the named totals below.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from shared.broker import Publisher, Topology
from shared.messages import Analysis, ContactScored
from tests.support import database
from tests.support.eventually import eventually
from tests.support.metrics import service_samples
from tests.support.pipelines import STAGES, STANDARD_RANGES
from tests.support.stack import Stack, running

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
TOKENS = {"PAGE_SKIP": "EAAskipPAGEtoken000111222333444", "PAGE_UPDATE": "EAAupdatePAGEtoken999888777666"}
FIRST = {  # contact: (score, status, expected stage, rule)
    "c01": (5, "NEW", "New", "score_range"),
    "c02": (15, "CONTACTED", "Warm", "score_range"),
    "c03": (25, "CONTACTED", "Engaged", "score_range"),
    "c04": (31, "QUALIFIED", "Qualified", "score_range"),
    "c05": (55, "QUALIFIED", "Qualified", "score_range"),
    "c06": (56, "QUALIFIED", "Negotiation", "score_range"),
    "c07": (80, "QUALIFIED", "Negotiation", "score_range"),
    # 90 without WON status (a customer's claim): no open range holds it, and Won is chosen
    # only by status, so the nearest open stage.
    "c08": (90, "QUALIFIED", "Negotiation", "nearest_midpoint"),
    "c09": (95, "WON", "Won", "status"),
    "c10": (12, "LOST", "Lost", "status"),
    "c11": (70, "LOST", "Lost", "status"),
    "c12": (30, "WON", "Won", "status"),
}
LATER = {  # newer analyses: contact: (score, status, stage in SKIP_EXISTING, stage in UPDATE_EXISTING)
    "c01": (70, "QUALIFIED", "New", "Negotiation"),
    "c07": (25, "CONTACTED", "Negotiation", "Engaged"),  # cooled down: a move down is allowed
    "c09": (81, "LOST", "Won", "Won"),  # Won is final: only a person moves it
    "c05": (60, "LOST", "Qualified", "Qualified"),  # ≥ 50 into Lost (min 0 < 20): blocked
    "c13": (45, "QUALIFIED", "Qualified", "Qualified"),  # a new contact is placed in both modes
}
# What each phase adds to the activity log (a phase's totals are the sum of those before it).
FIRST_PLACEMENTS = 2 * len(FIRST)  # phase 1: every contact of both pages placed once
LATER_MOVES = 2  # phase 2, PAGE_UPDATE: c01 up to Negotiation, c07 down to Engaged
LATER_NEW = 2  # phase 2: c13 placed on both pages
LATER_BLOCKED = 2  # phase 2, PAGE_UPDATE: c09 (Won is final) and c05 (downgrade into Lost)
BACKFILL_STALE_DROPS = 2  # phase 3: the job's day-old analysis of c02 on each page
PAIRS = 10  # phase 4: contacts analysed twice at once, older and newer in both orders


def scored(
    page: str, contact: str, score: int, status: str, at: datetime, job_id: str | None = None
) -> ContactScored:
    return ContactScored(
        page_id=page,
        platform="instagram" if contact == "c12" else "messenger",
        contact_id=contact,
        contact_name=f"Person {contact}",
        analyzed_through=at,
        message_count=4,
        analysis=Analysis(
            lead_score=score,
            lead_status=status,
            confidence=80,
            summary=f"{status.lower()} at {score}",
            model="scripted",
        ),
        origin="backfill" if job_id else "webhook",
        job_id=job_id,
    )


async def assigner_metrics(logs: str) -> dict[str, float]:
    """The assigner counters summed over every assigner process (their ports are in the logs)."""
    processes, samples = await service_samples(logs, "assigner")
    totals: dict[str, float] = {}
    for sample in samples:
        if sample.name.startswith("leadsync_assigner_") and sample.name.endswith("_total"):
            totals[sample.name] = totals.get(sample.name, 0) + sample.value
    assert processes == 2, "expected two assigner processes"
    return totals


async def counted(db: asyncpg.Pool, query: str, *args: object, equals: int, what: str) -> None:
    """Wait until the count `query` returns is `equals`."""

    async def reached() -> bool:
        return bool(await db.fetchval(query, *args) == equals)

    await eventually(reached, what=what)


async def contacts_of(api: httpx.AsyncClient, page: str) -> dict[str, dict[str, Any]]:
    r = await api.get("/api/contacts", params={"page_id": page, "limit": 100})
    assert r.status_code == 200
    return {c["external_id"]: c for c in r.json()["items"]}


@dataclass
class Scenario:
    """The running stack of the module: the webhook with an assigner, and a second assigner."""

    api: httpx.AsyncClient
    web: Stack
    second: Stack
    publisher: Publisher
    db: asyncpg.Pool
    pipeline: dict[str, Any]
    responses: list[str] = field(default_factory=list)

    def logs(self) -> str:
        return self.web.logs() + self.second.logs()


@pytest.fixture(scope="module")
async def scenario(
    pool: asyncpg.Pool, service_env: dict[str, str], amqp_url: str, namespace: str
) -> AsyncIterator[Scenario]:
    await database.empty(pool)
    responses: list[str] = []

    async def keep(response: httpx.Response) -> None:
        responses.append((await response.aread()).decode())

    async with contextlib.AsyncExitStack() as stack:
        web = await stack.enter_async_context(running(service_env, "webhook", "assigner"))
        second = await stack.enter_async_context(running(service_env, "assigner"))
        api = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=web.url,
                headers={"Authorization": f"Bearer {service_env['ADMIN_TOKEN']}"},
                event_hooks={"response": [keep]},
            )
        )
        publisher = Publisher(amqp_url, Topology(namespace))
        await publisher.connect()
        stack.push_async_callback(publisher.close)

        r = await api.post(
            "/api/pipelines", json={"name": "Sales", "stages": [{"name": n, "type": t} for n, t in STAGES]}
        )
        assert r.status_code == 201
        for page, mode in (("PAGE_SKIP", "SKIP_EXISTING"), ("PAGE_UPDATE", "UPDATE_EXISTING")):
            made = await api.post(
                "/api/pages",
                json={
                    "id": page,
                    "name": page.title(),
                    "access_token": TOKENS[page],
                    "auto_pipeline_id": r.json()["id"],
                    "auto_pipeline_mode": mode,
                },
            )
            assert made.status_code == 201, made.text
        yield Scenario(api, web, second, publisher, pool, r.json(), responses)


async def _score_every_page(
    scenario: Scenario, table: dict[str, tuple[Any, ...]], at: datetime, done: str, equals: int, what: str
) -> None:
    """Publishes, for each page, an analysis of each contact in `table` as of `at`; returns once
    `equals` contacts analysed as of `at` match `done` (an SQL condition)."""
    await scenario.publisher.publish_many(
        [
            (scored(page, c, score, status, at), None)
            for page in TOKENS
            for c, (score, status, _, _) in table.items()
        ]
    )
    sql = f"SELECT count(*) FROM contacts WHERE analyzed_through = $1 AND {done}"
    await counted(scenario.db, sql, at, equals=equals, what=what)


async def test_phase_1_a_dozen_contacts_per_page_land_in_their_stages(scenario: Scenario) -> None:
    api = scenario.api
    await _score_every_page(
        scenario, FIRST, T0, "stage_id IS NOT NULL", FIRST_PLACEMENTS, "the first analyses"
    )
    ranges = (await api.get(f"/api/pipelines/{scenario.pipeline['id']}")).json()["stages"]
    assert [(s["lead_score_min"], s["lead_score_max"]) for s in ranges] == STANDARD_RANGES
    for page in TOKENS:
        found = await contacts_of(api, page)
        assert {c: found[c]["stage_name"] for c in FIRST} == {c: e[2] for c, e in FIRST.items()}
        for c, (score, _, stage, rule) in FIRST.items():
            log = (await api.get(f"/api/contacts/{found[c]['id']}")).json()["activities"]
            assert [
                (a["type"], a["from_stage"], a["to_stage"], a["lead_score"], a["details"]["rule"])
                for a in log
            ] == [("STAGE_CHANGED", None, stage, score, rule)]


async def test_phase_2_newer_analyses_move_only_in_update_mode_unless_blocked(scenario: Scenario) -> None:
    """SKIP_EXISTING keeps placed contacts, UPDATE_EXISTING moves them, except where downgrade
    protection (or a sale) blocks the move."""
    api = scenario.api
    await _score_every_page(scenario, LATER, T1, "true", 2 * len(LATER), "the later analyses")
    skip, update = await contacts_of(api, "PAGE_SKIP"), await contacts_of(api, "PAGE_UPDATE")
    assert {c: skip[c]["stage_name"] for c in LATER} == {c: e[2] for c, e in LATER.items()}
    assert {c: update[c]["stage_name"] for c in LATER} == {c: e[3] for c, e in LATER.items()}
    assert all(skip[c]["lead_score"] == e[0] == update[c]["lead_score"] for c, e in LATER.items())
    for c, kept, why in (("c09", "Won", "won_is_final"), ("c05", "Qualified", "downgrade")):
        log = (await api.get(f"/api/contacts/{update[c]['id']}")).json()["activities"]
        assert (
            log[0]["type"],
            log[0]["from_stage"],
            log[0]["details"]["to"],
            log[0]["details"]["blocked"],
        ) == ("STAGE_CHANGE_BLOCKED", kept, "Lost", why)
    log = (await api.get(f"/api/contacts/{update['c01']['id']}")).json()["activities"]
    assert [(a["from_stage"], a["to_stage"]) for a in log] == [("New", "Negotiation"), (None, "New")]
    log = (await api.get(f"/api/contacts/{skip['c01']['id']}")).json()["activities"]
    assert [(a["from_stage"], a["to_stage"]) for a in log] == [(None, "New")]


async def test_phase_3_stale_and_repeated_backfill_analyses_change_nothing_and_count_once(
    scenario: Scenario,
) -> None:
    """A backfill job's stale analysis (older than what was applied) and a repeat of an applied
    analysis: both change nothing, both count once for their job."""
    api, db = scenario.api, scenario.db
    jobs = {
        page: await db.fetchval(
            """INSERT INTO jobs (page_id, kind, status, total_contacts, enumeration_done, started_at)
           VALUES ($1, 'FULL', 'IN_PROGRESS', 2, true, now()) RETURNING id::text""",
            page,
        )
        for page in TOKENS
    }
    before = {page: await contacts_of(api, page) for page in TOKENS}
    await scenario.publisher.publish_many(
        [
            item
            for page in TOKENS
            for item in (
                (scored(page, "c02", 99, "WON", T0 - timedelta(days=1), jobs[page]), None),
                (scored(page, "c03", 25, "CONTACTED", T0, jobs[page]), None),
            )
        ]
    )

    await counted(
        db,
        "SELECT count(*) FROM jobs WHERE status = 'COMPLETED' AND synced_contacts = 2",
        equals=2,
        what="the jobs",
    )
    for page in TOKENS:
        after = await contacts_of(api, page)
        for c in ("c02", "c03"):
            assert after[c] == before[page][c]
    assert await db.fetchval("SELECT count(*) FROM activities") == (
        FIRST_PLACEMENTS + LATER_MOVES + LATER_BLOCKED + LATER_NEW
    )


async def test_phase_4_concurrent_older_and_newer_analyses_end_with_the_newest(scenario: Scenario) -> None:
    """Older and newer analyses of the same contacts at once, in both orders, over two assigner
    processes: each contact ends with the newest, placed once from nowhere."""
    api, db = scenario.api, scenario.db
    pairs = [
        (
            scored("PAGE_UPDATE", f"d{i:02}", 15, "CONTACTED", T0),
            scored("PAGE_UPDATE", f"d{i:02}", 65, "QUALIFIED", T1),
        )
        for i in range(PAIRS)
    ]
    await scenario.publisher.publish_many(
        [
            (m, None)
            for i, (older, newer) in enumerate(pairs)
            for m in ((newer, older) if i % 2 else (older, newer))
        ]
    )

    def pairs_handled() -> bool:
        # Every analysis logs exactly one line naming its contact once it is committed.
        text = scenario.logs()
        return sum(text.count(f'"contact_id":"{o.contact_id}"') for o, _ in pairs) == 2 * PAIRS

    await eventually(pairs_handled, what="the concurrent pairs")
    found = await contacts_of(api, "PAGE_UPDATE")
    for older, _ in pairs:
        contact = found[older.contact_id]
        assert (contact["lead_score"], contact["stage_name"]) == (65, "Negotiation")
        log = (await api.get(f"/api/contacts/{contact['id']}")).json()["activities"]
        assert log[0]["to_stage"] == "Negotiation"
        assert [a["from_stage"] for a in log].count(None) == 1

    totals = await assigner_metrics(scenario.logs())
    moves = await db.fetchval("SELECT count(*) FROM activities WHERE type = 'STAGE_CHANGED'")
    # Each pair is two moves (older handled first) or one move and one stale drop.
    pair_moves = moves - (FIRST_PLACEMENTS + LATER_MOVES + LATER_NEW)
    assert totals["leadsync_assigner_stage_changes_total"] == moves
    assert totals["leadsync_assigner_downgrades_blocked_total"] == 1
    assert totals["leadsync_assigner_won_kept_total"] == 1
    assert totals["leadsync_assigner_stale_analyses_dropped_total"] == (
        BACKFILL_STALE_DROPS + 2 * PAIRS - pair_moves
    )


async def test_no_token_or_key_in_any_answer_or_log(scenario: Scenario, service_env: dict[str, str]) -> None:
    logs = scenario.logs()
    for secret in (*TOKENS.values(), service_env["ADMIN_TOKEN"], service_env["TOKEN_ENCRYPTION_KEY"]):
        assert not any(secret in body for body in scenario.responses)
        assert secret not in logs
