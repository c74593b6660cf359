"""Contacts land in the stages §7 prescribes, through the real webhook (admin API) and two assigners.

The assigners are driven by ContactScored messages published into the real broker: the
analyzer's output contract, so this test does not depend on how the analyzer scores.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import httpx

from shared.broker import Publisher
from shared.messages import Analysis, ContactScored
from tests.support.metrics import service_samples
from tests.support.stack import running

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
TOKENS = {"PAGE_SKIP": "EAAskipPAGEtoken000111222333444", "PAGE_UPDATE": "EAAupdatePAGEtoken999888777666"}
STAGES = [("New", "LEAD"), ("Warm", "LEAD"), ("Engaged", "LEAD"), ("Qualified", "IN_PROGRESS"),
          ("Negotiation", "IN_PROGRESS"), ("Won", "WON"), ("Lost", "LOST"), ("Archive", "ARCHIVED")]
# Default ranges become New 0-10, Warm 11-20, Engaged 21-30, Qualified 31-55, Negotiation 56-80,
# Won 81-100, Lost 0-20, Archive 0-100 (never chosen).
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


def scored(page: str, contact: str, score: int, status: str, at: datetime,
           job_id: str | None = None) -> ContactScored:
    return ContactScored(
        page_id=page, platform="instagram" if contact == "c12" else "messenger", contact_id=contact,
        contact_name=f"Person {contact}", analyzed_through=at, message_count=4,
        analysis=Analysis(lead_score=score, lead_status=status, confidence=80,  # type: ignore[arg-type]
                          summary=f"{status.lower()} at {score}", model="scripted"),
        origin="backfill" if job_id else "webhook", job_id=job_id,
    )


async def wait_until(check, what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def assigner_metrics(logs: str) -> dict[str, float]:
    """The assigner counters summed over every assigner process (their ports are in the logs)."""
    processes, samples = await service_samples(logs, "assigner")
    totals: dict[str, float] = {}
    for sample in samples:
        if sample.name.startswith("leadsync_assigner_") and sample.name.endswith("_total"):
            totals[sample.name] = totals.get(sample.name, 0) + sample.value
    assert processes == 2, "expected two assigner processes"
    return totals


async def contacts_of(api: httpx.AsyncClient, page: str) -> dict[str, dict]:
    r = await api.get("/api/contacts", params={"page_id": page, "limit": 100})
    assert r.status_code == 200
    return {c["external_id"]: c for c in r.json()["items"]}


async def test_scored_contacts_land_in_their_stages_in_both_modes(
    clean_db, service_env, publisher: Publisher
):
    responses: list[str] = []

    async def keep(response: httpx.Response) -> None:
        responses.append((await response.aread()).decode())

    async with contextlib.AsyncExitStack() as stack:
        web = await stack.enter_async_context(running(service_env, "webhook", "assigner"))
        second = await stack.enter_async_context(running(service_env, "assigner"))
        api = await stack.enter_async_context(httpx.AsyncClient(
            base_url=web.url, headers={"Authorization": f"Bearer {service_env['ADMIN_TOKEN']}"},
            event_hooks={"response": [keep]}))

        r = await api.post("/api/pipelines", json={
            "name": "Sales", "stages": [{"name": n, "type": t} for n, t in STAGES]})
        assert r.status_code == 201
        pipeline = r.json()
        for page, mode in (("PAGE_SKIP", "SKIP_EXISTING"), ("PAGE_UPDATE", "UPDATE_EXISTING")):
            r = await api.post("/api/pages", json={
                "id": page, "name": page.title(), "access_token": TOKENS[page],
                "auto_pipeline_id": pipeline["id"], "auto_pipeline_mode": mode})
            assert r.status_code == 201, r.text

        # 1. A dozen contacts per page, each analysed once.
        await publisher.publish_many([
            (scored(page, c, score, status, T0), None)
            for page in TOKENS for c, (score, status, _, _) in FIRST.items()])

        async def all_placed() -> bool:
            return await clean_db.fetchval(
                "SELECT count(*) FROM contacts WHERE analyzed_through = $1 AND stage_id IS NOT NULL",
                T0) == 2 * len(FIRST)

        await wait_until(all_placed, "the first analyses")
        ranges = (await api.get(f"/api/pipelines/{pipeline['id']}")).json()["stages"]
        assert [(s["lead_score_min"], s["lead_score_max"]) for s in ranges] == [
            (0, 10), (11, 20), (21, 30), (31, 55), (56, 80), (81, 100), (0, 20), (0, 100)]
        for page in TOKENS:
            found = await contacts_of(api, page)
            assert {c: found[c]["stage_name"] for c in FIRST} == {c: e[2] for c, e in FIRST.items()}
            for c, (score, _, stage, rule) in FIRST.items():
                log = (await api.get(f"/api/contacts/{found[c]['id']}")).json()["activities"]
                assert [(a["type"], a["from_stage"], a["to_stage"], a["lead_score"],
                         a["details"]["rule"]) for a in log] == [
                    ("STAGE_CHANGED", None, stage, score, rule)]

        # 2. Newer analyses: SKIP_EXISTING keeps placed contacts, UPDATE_EXISTING moves them,
        #    except where downgrade protection (or a sale) blocks the move.
        await publisher.publish_many([
            (scored(page, c, score, status, T1), None)
            for page in TOKENS for c, (score, status, _, _) in LATER.items()])

        async def all_updated() -> bool:
            return await clean_db.fetchval(
                "SELECT count(*) FROM contacts WHERE analyzed_through = $1", T1) == 2 * len(LATER)

        await wait_until(all_updated, "the later analyses")
        skip, update = await contacts_of(api, "PAGE_SKIP"), await contacts_of(api, "PAGE_UPDATE")
        assert {c: skip[c]["stage_name"] for c in LATER} == {c: e[2] for c, e in LATER.items()}
        assert {c: update[c]["stage_name"] for c in LATER} == {c: e[3] for c, e in LATER.items()}
        assert all(skip[c]["lead_score"] == e[0] == update[c]["lead_score"] for c, e in LATER.items())
        for c, kept, why in (("c09", "Won", "won_is_final"), ("c05", "Qualified", "downgrade")):
            log = (await api.get(f"/api/contacts/{update[c]['id']}")).json()["activities"]
            assert (log[0]["type"], log[0]["from_stage"], log[0]["details"]["to"],
                    log[0]["details"]["blocked"]) == ("STAGE_CHANGE_BLOCKED", kept, "Lost", why)
        log = (await api.get(f"/api/contacts/{update['c01']['id']}")).json()["activities"]
        assert [(a["from_stage"], a["to_stage"]) for a in log] == [("New", "Negotiation"), (None, "New")]
        log = (await api.get(f"/api/contacts/{skip['c01']['id']}")).json()["activities"]
        assert [(a["from_stage"], a["to_stage"]) for a in log] == [(None, "New")]

        # 3. A backfill job's stale analysis (older than what was applied) and a repeat of an
        #    applied analysis: both change nothing, both count once for their job.
        jobs = {page: await clean_db.fetchval(
            """INSERT INTO jobs (page_id, kind, status, total_contacts, enumeration_done, started_at)
               VALUES ($1, 'FULL', 'IN_PROGRESS', 2, true, now()) RETURNING id::text""", page)
            for page in TOKENS}
        before = {page: await contacts_of(api, page) for page in TOKENS}
        await publisher.publish_many([
            item for page in TOKENS for item in (
                (scored(page, "c02", 99, "WON", T0 - timedelta(days=1), jobs[page]), None),
                (scored(page, "c03", 25, "CONTACTED", T0, jobs[page]), None))])

        async def jobs_done() -> bool:
            return await clean_db.fetchval(
                "SELECT count(*) FROM jobs WHERE status = 'COMPLETED' AND synced_contacts = 2") == 2

        await wait_until(jobs_done, "the jobs")
        for page in TOKENS:
            after = await contacts_of(api, page)
            for c in ("c02", "c03"):
                assert after[c] == before[page][c]
        assert await clean_db.fetchval("SELECT count(*) FROM activities") == (
            2 * len(FIRST) + 2 + 2 + 2)  # first placements; c01, c07 moved; two blocked; c13 twice

        # 4. Older and newer analyses of the same contacts at once, in both orders, over two
        #    assigner processes: each contact ends with the newest, placed once from nowhere.
        pairs = [(scored("PAGE_UPDATE", f"d{i:02}", 15, "CONTACTED", T0),
                  scored("PAGE_UPDATE", f"d{i:02}", 65, "QUALIFIED", T1)) for i in range(10)]
        await publisher.publish_many([(m, None) for i, (older, newer) in enumerate(pairs)
                                      for m in ((newer, older) if i % 2 else (older, newer))])

        async def pairs_handled() -> bool:
            # Every analysis logs exactly one line naming its contact once it is committed.
            text = web.logs() + second.logs()
            return sum(text.count(f'"contact_id":"{o.contact_id}"') for o, _ in pairs) == 2 * len(pairs)

        await wait_until(pairs_handled, "the concurrent pairs")
        found = await contacts_of(api, "PAGE_UPDATE")
        for older, _ in pairs:
            contact = found[older.contact_id]
            assert (contact["lead_score"], contact["stage_name"]) == (65, "Negotiation")
            log = (await api.get(f"/api/contacts/{contact['id']}")).json()["activities"]
            assert log[0]["to_stage"] == "Negotiation"
            assert [a["from_stage"] for a in log].count(None) == 1

        logs = web.logs() + second.logs()
        totals = await assigner_metrics(logs)
        moves = await clean_db.fetchval("SELECT count(*) FROM activities WHERE type = 'STAGE_CHANGED'")
        # Each pair is two moves (older handled first) or one move and one stale drop.
        pair_moves = moves - (2 * len(FIRST) + 2 + 2)
        assert totals["leadsync_assigner_stage_changes_total"] == moves
        assert totals["leadsync_assigner_downgrades_blocked_total"] == 1
        assert totals["leadsync_assigner_won_kept_total"] == 1
        assert totals["leadsync_assigner_stale_analyses_dropped_total"] == 2 + 2 * len(pairs) - pair_moves

    for secret in (*TOKENS.values(), service_env["ADMIN_TOKEN"], service_env["TOKEN_ENCRYPTION_KEY"]):
        assert not any(secret in body for body in responses)
        assert secret not in logs

