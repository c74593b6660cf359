"""Re-scoring a page: a dry run changes nothing and reports the moves the real run then makes.

The services run as a user runs them; contacts arrive as signed webhooks and are scored by a fake
LLM. Then the model's verdicts change (a new prompt or model, say): `leadsync rescore --dry-run`
shows what would move, the contacts stay as they were, and applying (POST /api/pages/{id}/rescore,
what the console's Apply button sends) moves exactly those contacts, exactly so.
"""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg

from tests.fakes.llm import FakeLLM
from tests.support.backfill import api as admin_client
from tests.support.cli import leadsync
from tests.support.eventually import eventually
from tests.support.meta_events import deliver, messenger_event
from tests.support.pipelines import sales_page
from tests.support.stack import running

PAGE = "PAGE_RESCORE"
# marker: (score, status) today, and what the new verdicts say
VERDICTS = {
    "cold": ((8, "NEW"), (60, "QUALIFIED")),
    "curious": ((25, "CONTACTED"), (15, "CONTACTED")),
    "keen": ((45, "QUALIFIED"), (74, "QUALIFIED")),
    "ready": ((72, "QUALIFIED"), (33, "QUALIFIED")),
    "hot": ((78, "QUALIFIED"), (88, "LOST")),
    "steady": ((40, "QUALIFIED"), (42, "QUALIFIED")),
    "gone": ((12, "LOST"), (52, "QUALIFIED")),
}
TODAY = {name: today for name, (today, _) in VERDICTS.items()}
TOMORROW = {name: tomorrow for name, (_, tomorrow) in VERDICTS.items()}
TEXTS = {"gone": "no thanks, not interested", "hot": "stop, I bought it elsewhere"}
MARKER = re.compile(r"#([a-z]+)#")


def verdicts(table: dict[str, dict[str, tuple[int, str]]]):
    def answer(body: dict[str, Any], _n: int) -> dict[str, Any]:
        said = json.loads(body["messages"][-1]["content"])["messages"]
        name = MARKER.findall(said[-1]["text"])[-1]
        score, status = table["now"][name]
        return {
            "lead_score": score,
            "lead_status": status,
            "summary": f"{name} at {score}",
            "evidence": [said[-1]["n"]],
        }

    return answer


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    return {
        t: [tuple(r) for r in await pool.fetch(f"SELECT * FROM {t} ORDER BY 1")]
        for t in ("contacts", "activities", "scores", "stages", "messages")
    }


async def details(pool: asyncpg.Pool, job_id: str) -> dict[str, dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT contact_external_id, detail FROM job_items WHERE job_id = $1::uuid", job_id
    )
    return {r["contact_external_id"]: r["detail"] for r in rows}


async def test_a_dry_run_reports_the_moves_the_real_run_then_makes(clean_db, service_env):
    table = {"now": TODAY}
    secret = service_env["META_APP_SECRET"].encode()
    async with FakeLLM(responder=verdicts(table)) as llm:
        extra = llm.env(ANALYZER_DEBOUNCE_S="0.2", BACKFILL_HEARTBEAT_S="0.2")
        async with (
            running(service_env, extra_env=extra) as stack,
            admin_client(stack.url, service_env) as api,
        ):
            await sales_page(api, PAGE, "Rescored shop", "EAArescorePAGEtoken1234567890", auto_sync=False)
            for i, name in enumerate(TODAY):
                body = messenger_event(
                    PAGE,
                    f"u_{name}",
                    f"m_{name}",
                    f"hi #{name}# " + TEXTS.get(name, "how much?"),
                    1764028800000 + i,
                )
                resp = await deliver(api, body, secret)
                assert resp.status_code == 200

            async def placed() -> bool:
                return await clean_db.fetchval(
                    "SELECT count(*) FROM contacts WHERE stage_id IS NOT NULL"
                ) == len(TODAY)

            await eventually(placed, what="every contact placed")
            table["now"] = TOMORROW  # the model's verdicts change
            before = await snapshot(clean_db)

            code, out, err = await leadsync(service_env, "rescore", PAGE, "--dry-run", columns=160)
            assert code == 0, out + err
            assert await snapshot(clean_db) == before  # the dry run changed no contact
            dry = await clean_db.fetchrow(
                "SELECT id::text, status, result, synced_contacts FROM jobs WHERE kind = 'RESCORE'"
            )
            assert (dry["status"], dry["synced_contacts"]) == ("COMPLETED", len(TODAY))
            moves = dry["result"]["moves"]
            assert moves == {"into_won": 0, "into_lost": 0, "up": 3, "down": 2, "blocked": 1, "unchanged": 1}
            assert (
                "7 conversations rescored: 0 into Won, 0 into Lost, 3 up, 2 down, 1 blocked, "
                "1 unchanged" in " ".join(out.split())
            )
            assert re.search(r"u_hot\s+│\s+blocked \(downgrade\)\s+│\s+Negotiation\s+│\s+Lost", out)
            predicted = await details(clean_db, dry["id"])

            r = await api.post(f"/api/pages/{PAGE}/rescore", json={"dry_run": False})
            assert r.status_code == 202, r.text
            real_id = r.json()["job_id"]

            async def applied() -> bool:
                return (
                    await clean_db.fetchval("SELECT status FROM jobs WHERE id = $1::uuid", real_id)
                    == "COMPLETED"
                )

            await eventually(applied, what="the real rescore")
            real = await clean_db.fetchval("SELECT result FROM jobs WHERE id = $1::uuid", real_id)
            assert real == dry["result"]
            assert await details(clean_db, real_id) == predicted  # contact by contact
            stages = {
                r["external_id"]: r["name"]
                for r in await clean_db.fetch(
                    "SELECT c.external_id, s.name FROM contacts c JOIN stages s ON s.id = c.stage_id"
                )
            }
            for contact, move in predicted.items():
                ends = move["to"] if move["move"] not in ("blocked", "unchanged") else move["from"]
                assert stages[contact] == ends, (contact, move)
            assert stages == {
                "u_cold": "Negotiation",
                "u_curious": "Warm",
                "u_keen": "Negotiation",
                "u_ready": "Qualified",
                "u_hot": "Negotiation",
                "u_steady": "Qualified",
                "u_gone": "Qualified",
            }
            rescored = await clean_db.fetchval("SELECT count(*) FROM scores WHERE job_id = $1::uuid", real_id)
            assert rescored == len(TODAY)  # every replay is in the ledger, the dry run's are not
            assert llm.calls == 3 * len(TODAY)
            # A prompt version the analyzer does not know fails the job with one clear line.
            code, out, err = await leadsync(
                service_env, "rescore", PAGE, "--dry-run", "--prompt-version", "lead-v0"
            )
            assert code == 1
            assert (
                err.startswith("leadsync: the dry run ended FAILED: unknown prompt version 'lead-v0'")
                and err.count("\n") == 1
            )


async def test_a_rescore_can_be_cancelled_and_stops_scoring(clean_db, service_env):
    """Cancel → CANCELLED at once; the items still queued make no LLM call."""
    conversations = 40
    await clean_db.execute("INSERT INTO pages (id, name, auto_sync) VALUES ($1, 'Big shop', false)", PAGE)
    await clean_db.executemany(
        "INSERT INTO messages (mid, page_id, platform, contact_external_id, text, sent_at) "
        "VALUES ($1, $2, 'messenger', $3, 'price? #cold#', now())",
        [(f"m_{i}", PAGE, f"u_{i:02}") for i in range(conversations)],
    )
    async with FakeLLM(latency=0.4, responder=verdicts({"now": TODAY})) as llm:
        extra = llm.env(LLM_CONCURRENCY="2", BACKFILL_HEARTBEAT_S="0.2")
        async with (
            running(service_env, "webhook", "analyzer", "assigner", "backfill", extra_env=extra) as stack,
            admin_client(stack.url, service_env) as api,
        ):
            r = await api.post(f"/api/pages/{PAGE}/rescore", json={"dry_run": False})
            job_id = r.json()["job_id"]

            async def scoring() -> bool:
                return llm.calls >= 2

            await eventually(scoring, what="the first replays")
            r = await api.post(f"/api/jobs/{job_id}/cancel")
            assert r.json()["status"] == "CANCELLED"

            async def drained() -> bool:
                logs = stack.logs()  # each replay ends scored or skipped, one line each
                return (
                    logs.count('"conversation.rescored"') + logs.count('"conversation.skipped"')
                    == conversations
                    and llm.in_flight == 0
                )

            await eventually(drained, what="the queued replays skipped")
            assert "conversation.skipped" in stack.logs()
            job = (await api.get(f"/api/jobs/{job_id}")).json()
            assert job["status"] == "CANCELLED"
            assert llm.calls < conversations  # the rest were never scored
            assert job["synced_contacts"] <= llm.calls
