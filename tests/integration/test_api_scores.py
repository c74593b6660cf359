"""The admin API's score ledger, calibration and rescore routes over the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from services.webhook.api.schemas import RESPONSES
from tests.support.admin_api import admin_client

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def api(clean_db, publisher, service_env) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_client(service_env, clean_db, publisher) as client:
        yield client


async def seed(pool: asyncpg.Pool) -> dict[str, str]:
    """A pipeline, a page and three contacts, each with a history of scores."""
    pipeline = await pool.fetchval("INSERT INTO pipelines (name) VALUES ('Sales') RETURNING id::text")
    stage = {}
    for pos, (name, kind) in enumerate([("Open", "LEAD"), ("Won", "WON"), ("Lost", "LOST")]):
        stage[name] = await pool.fetchval(
            "INSERT INTO stages (pipeline_id, name, type, position) VALUES ($1, $2, $3, $4) "
            "RETURNING id::text",
            pipeline,
            name,
            kind,
            pos,
        )
    await pool.execute("INSERT INTO pages (id, name, auto_pipeline_id) VALUES ('P', 'Shop', $1)", pipeline)
    ids = {}
    # (contact, final stage, [(score, status)…] in order)
    for name, final, history in [
        ("ana", "Won", [(35, "CONTACTED"), (75, "QUALIFIED"), (95, "WON"), (20, "CONTACTED")]),
        ("ben", "Lost", [(72, "QUALIFIED"), (5, "LOST")]),
        ("cai", "Open", [(38, "CONTACTED"), (33, "CONTACTED")]),
    ]:
        ids[name] = await pool.fetchval(
            "INSERT INTO contacts (page_id, platform, external_id, name, pipeline_id, stage_id) "
            "VALUES ('P', 'messenger', $1, $1, $2, $3) RETURNING id::text",
            name,
            pipeline,
            stage[final],
        )
        for i, (score, status) in enumerate(history):
            await pool.execute(
                "INSERT INTO scores (contact_id, analysis_id, analyzed_through, lead_score, "
                "lead_status, confidence, evidence, signals) VALUES ($1, $2, $3, $4, $5, 50, $6, $7)",
                ids[name],
                f"{name}-{i}",
                T0 + timedelta(minutes=i),
                score,
                status,
                [f"m_{name}_{i}"],
                [{"signal": "asked the price", "points": 8, "mids": [f"m_{name}_{i}"]}],
            )
    await pool.execute(
        "INSERT INTO scores (contact_id, analysis_id, analyzed_through, lead_score, lead_status, "
        "shadow, model) VALUES ($1, 'ana-shadow', $2, 60, 'QUALIFIED', true, 'candidate')",
        ids["ana"],
        T0 + timedelta(minutes=9),
    )
    return {**ids, "pipeline": pipeline}


async def test_the_ledger_lists_a_contacts_scores_newest_first(api, clean_db):
    ids = await seed(clean_db)
    r = await api.get(f"/api/contacts/{ids['ana']}/scores")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(i["lead_score"], i["lead_status"]) for i in items] == [
        (20, "CONTACTED"),
        (95, "WON"),
        (75, "QUALIFIED"),
        (35, "CONTACTED"),
    ]
    assert items[0]["evidence"] == ["m_ana_3"] and items[0]["signals"][0]["mids"] == ["m_ana_3"]
    assert set(items[0]) == set(RESPONSES["Score"]["required"])
    r = await api.get(f"/api/contacts/{ids['ana']}/scores", params={"include_shadow": "true", "limit": 2})
    assert [(i["shadow"], i["model"]) for i in r.json()["items"]] == [(True, "candidate"), (False, "")]


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/api/contacts/not-a-uuid/scores", 404, "not found"),
        ("/api/contacts/00000000-0000-0000-0000-000000000000/scores", 404, "not found"),
        ("/api/contacts/{ana}/scores?limit=0", 422, "limit"),
        ("/api/contacts/{ana}/scores?shadow=1", 422, "shadow"),
        ("/api/pipelines/00000000-0000-0000-0000-000000000000/calibration", 404, "not found"),
    ],
)
async def test_bad_ledger_requests_are_refused_clearly(api, clean_db, path, status, says):
    ids = await seed(clean_db)
    r = await api.get(path.format(**ids))
    assert r.status_code == status and says in r.json()["error"]


async def test_calibration_counts_outcomes_per_score_band_before_the_outcome(api, clean_db):
    ids = await seed(clean_db)
    r = await api.get(f"/api/pipelines/{ids['pipeline']}/calibration")
    assert r.status_code == 200
    bands = {b["band"]: b for b in r.json()["bands"]}
    assert list(bands) == [f"{10 * i + 1}-{10 * i + 10}" for i in range(10)]
    # ana (won): scored 35 and 75 before the WON analysis; her 95 and the 20 after do not count.
    # ben (lost): 72 before his LOST analysis. cai (open): 38 and 33, one band, counted once.
    got = {
        k: (b["contacts"], b["won"], b["lost"], b["open"], b["win_rate"])
        for k, b in bands.items()
        if b["contacts"]
    }
    assert got == {"31-40": (2, 1, 0, 1, 0.5), "71-80": (2, 1, 1, 0, 0.5)}
    assert bands["91-100"] == {
        "band": "91-100",
        "score_min": 91,
        "score_max": 100,
        "contacts": 0,
        "won": 0,
        "lost": 0,
        "open": 0,
        "win_rate": None,
    }


async def test_a_rescore_is_a_job_one_per_page_and_dry_runs_say_so(api, clean_db):
    await seed(clean_db)
    r = await api.post("/api/pages/P/rescore", json={"dry_run": True})
    assert r.status_code == 202, r.text
    job = r.json()
    assert (job["kind"], job["status"], job["params"]) == (
        "RESCORE",
        "PENDING",
        {"dry_run": True, "prompt_version": None},
    )
    assert job["job_id"] == job["id"]
    again = await api.post("/api/pages/P/rescore", json={"dry_run": True})
    assert (again.status_code, again.json()["id"]) == (200, job["id"])  # the same one, running
    other = await api.post("/api/pages/P/rescore", json={"dry_run": False, "prompt_version": "lead-v2"})
    assert other.status_code == 409 and other.json()["active_job_id"] == job["id"]
    assert await clean_db.fetchval("SELECT count(*) FROM jobs") == 1
    read = await api.get(f"/api/jobs/{job['id']}")
    assert read.json()["params"] == {"dry_run": True, "prompt_version": None}
    assert (await api.post(f"/api/jobs/{job['id']}/cancel")).json()["status"] == "CANCELLED"
    retry = await api.post(f"/api/jobs/{job['id']}/retry")
    assert retry.status_code == 409 and "another rescore" in retry.json()["error"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "dry_run: Field required"),
        ({"dry_run": "maybe"}, "dry_run"),
        ({"dry_run": True, "prompt_version": ""}, "prompt_version"),
        ({"dry_run": True, "prompt_version": "lead v2; drop"}, "prompt_version"),
        ({"dry_run": True, "prompt_version": "lead-v2\u0000"}, "prompt_version"),
        ({"dry_run": 1}, "dry_run"),  # JSON types as declared
        ({"dry_run": True, "prompt_version": "x" * 101}, "prompt_version"),
        ({"dry_run": True, "extra": 1}, "extra"),
    ],
)
async def test_bad_rescore_requests_are_refused_clearly(api, clean_db, body, says):
    await seed(clean_db)
    r = await api.post("/api/pages/P/rescore", json=body)
    assert r.status_code == 422 and says in r.json()["error"]
    missing = await api.post("/api/pages/NOPE/rescore", json={"dry_run": True})
    assert missing.status_code == 404
    assert await clean_db.fetchval("SELECT count(*) FROM jobs") == 0
