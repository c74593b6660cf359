"""Shadow scoring: a candidate model scores every conversation too, into the ledger only.

`leadsync run` with LEADSYNC_SHADOW_MODEL set: the live model places the contacts, the candidate's
analyses land in `scores` with shadow = true and never move anyone, and the assigner exports how
often the two agree.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.llm import FakeLLM
from tests.support.backfill import api as admin_client
from tests.support.eventually import eventually
from tests.support.meta_events import deliver, messenger_event
from tests.support.pipelines import sales_page
from tests.support.stack import running

PAGE = "PAGE_SHADOW"
CANDIDATE = "candidate-model-2"
# contact: live verdict, the candidate's verdict
VERDICTS = {
    "u_a": ((45, "QUALIFIED"), (45, "QUALIFIED")),  # agree
    "u_b": ((72, "QUALIFIED"), (95, "WON")),  # a "sale" without the page: guarded
    "u_c": ((30, "CONTACTED"), (70, "QUALIFIED")),  # disagree: another stage
    "u_d": ((60, "QUALIFIED"), (8, "LOST")),
}  # no refusal: guarded, still disagrees


def by_model(body: dict[str, Any], _n: int) -> dict[str, Any]:
    said = json.loads(body["messages"][-1]["content"])["messages"]
    contact = said[-1]["text"].split()[-1]
    live, shadow = VERDICTS[contact]
    score, status = shadow if body["model"] == CANDIDATE else live
    return {"lead_score": score, "lead_status": status, "evidence": [said[-1]["n"]]}


async def metrics(logs: str) -> dict[str, dict[tuple[Any, ...], float]]:
    [port] = [
        json.loads(line)["port"]
        for line in logs.splitlines()
        if '"health.listening"' in line and '"assigner"' in line
    ]
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    found: dict[str, dict[tuple[Any, ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("leadsync_shadow"):
                found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_shadow_analyses_are_ledgered_never_placed_and_their_agreement_exported(clean_db, service_env):
    secret = service_env["META_APP_SECRET"].encode()
    async with FakeLLM(responder=by_model) as llm:
        extra = llm.env(ANALYZER_DEBOUNCE_S="0.2", LEADSYNC_SHADOW_MODEL=CANDIDATE)
        async with (
            running(service_env, "webhook", "analyzer", "assigner", extra_env=extra) as stack,
            admin_client(stack.url, service_env) as api,
        ):
            await sales_page(api, PAGE, "Shadowed shop", "EAAshadowPAGEtoken1234567890")
            for i, contact in enumerate(VERDICTS):
                body = messenger_event(PAGE, contact, f"m_{contact}", f"price? {contact}", 1764028800000 + i)
                resp = await deliver(api, body, secret)
                assert resp.status_code == 200

            async def ledgered() -> bool:
                return await clean_db.fetchval("SELECT count(*) FROM scores") == 2 * len(VERDICTS)

            await eventually(ledgered, what="a live and a shadow row per contact")
            rows = await clean_db.fetch(
                """SELECT c.external_id, s.name AS stage, c.lead_score FROM contacts c
                   JOIN stages s ON s.id = c.stage_id ORDER BY 1"""
            )
            # Placed by the live model alone.
            assert {r["external_id"]: (r["stage"], r["lead_score"]) for r in rows} == {
                "u_a": ("Qualified", 45),
                "u_b": ("Negotiation", 72),
                "u_c": ("Engaged", 30),
                "u_d": ("Negotiation", 60),
            }
            shadow = {
                r["external_id"]: (r["lead_score"], r["lead_status"], r["model"])
                for r in await clean_db.fetch("""SELECT c.external_id, s.lead_score, s.lead_status, s.model
                                        FROM scores s JOIN contacts c ON c.id = s.contact_id
                                        WHERE s.shadow""")
            }
            assert shadow == {
                "u_a": (45, "QUALIFIED", CANDIDATE),
                "u_b": (80, "QUALIFIED", CANDIDATE),
                "u_c": (70, "QUALIFIED", CANDIDATE),
                "u_d": (8, "NEW", CANDIDATE),
            }
            moves = await clean_db.fetchval("SELECT count(*) FROM activities")
            assert moves == len(VERDICTS)  # one placement each, none by a shadow
            found = await metrics(stack.logs())
    agreement = found["leadsync_shadow_agreement"]
    # Three live QUALIFIED: the candidate agreed on u_a and u_b (guarded to QUALIFIED), not on u_d.
    assert agreement[(("label", "QUALIFIED"),)] == 2 / 3
    assert agreement[(("label", "CONTACTED"),)] == 0.0
    assert agreement[(("label", "all"),)] == 0.5
    # Stages: u_b (a guarded 80 → Negotiation, as live), u_c (Negotiation vs Engaged), u_d (New vs Negotiation).
    assert found["leadsync_shadow_stage_disagreements_total"][()] == 2
    assert sorted(r["model"] for r in llm.requests) == sorted([CANDIDATE, "gpt-4o-mini"] * len(VERDICTS))
