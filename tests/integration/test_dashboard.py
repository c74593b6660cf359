"""Every SQL query of the Grafana dashboard runs against the migrated schema and shows the truth."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = json.loads((ROOT / "deploy/grafana/leadsync.json").read_text())
DATASOURCES = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/leadsync.yml").read_text())[
    "datasources"
]


def panels() -> list[dict[str, Any]]:
    return [p for p in DASHBOARD["panels"] if p["type"] != "row"]


def sql_panels() -> dict[str, str]:
    return {p["title"]: t["rawSql"] for p in panels() for t in p["targets"] if "rawSql" in t}


def expand(sql: str) -> str:
    """Grafana's Postgres macros, as Grafana expands them for the last six hours."""
    sql = re.sub(
        r"\$__timeFilter\(([^)]+)\)",
        r"\1 BETWEEN now() - interval '6 hours' AND now() + interval '1 minute'",
        sql,
    )
    sql = re.sub(
        r"\$__timeGroupAlias\(([^,]+),[^)]*\)",
        lambda m: f'to_timestamp(floor(extract(epoch FROM {m[1]}) / 60) * 60) AS "time"',
        sql,
    )
    assert "$__" not in sql, f"a Grafana macro this test does not know: {sql}"
    return sql


def test_every_panel_uses_a_provisioned_data_source():
    uids = {d["uid"]: d["type"] for d in DATASOURCES}
    for panel in panels():
        for target in panel["targets"]:
            assert uids[target["datasource"]["uid"]] == target["datasource"]["type"], panel["title"]
            assert ("rawSql" in target) == (target["datasource"]["uid"] == "leadsync-postgres")


def test_the_dashboard_covers_what_operators_watch():
    titles = {p["title"] for p in panels()}
    assert {
        "Active jobs with progress",
        "Jobs per status over time",
        "Failures with their errors",
        "Contacts per stage",
        "Webhook events in",
        "LLM calls",
        "Fallback analyses",
        "Queue depth",
        "Stage changes",
    } <= titles
    exprs = " ".join(t.get("expr", "") for p in panels() for t in p["targets"])
    for metric in (
        "leadsync_webhook_events_total",
        "leadsync_analyzer_llm_calls_total",
        "leadsync_analyzer_fallbacks_total",
        "rabbitmq_detailed_queue_messages_ready",
        "leadsync_assigner_stage_changes_total",
    ):
        assert metric in exprs


PIPELINE = "'00000000-0000-0000-0000-0000000000a1'"
NEW_STAGE = "'00000000-0000-0000-0000-0000000000b1'"
HOT_STAGE = "'00000000-0000-0000-0000-0000000000b2'"


@pytest.fixture
async def seeded(clean_db):
    pool = clean_db
    sales, new, hot = PIPELINE, NEW_STAGE, HOT_STAGE
    await pool.execute(f"""
        INSERT INTO pages (id, name, token_status) VALUES
            ('P1', 'Bakery Manila', 'ok'), ('P2', 'Surf Shop Bali', 'expired');
        INSERT INTO pipelines (id, name) VALUES ({sales}, 'Sales');
        INSERT INTO stages (id, pipeline_id, name, type, position, lead_score_min, lead_score_max) VALUES
            ({new}, {sales}, 'New', 'LEAD', 0, 0, 30),
            ({hot}, {sales}, 'Hot', 'IN_PROGRESS', 1, 31, 80);
        INSERT INTO contacts (page_id, platform, external_id, name, pipeline_id, stage_id, lead_score) VALUES
            ('P1', 'messenger', 'u1', 'Ana', {sales}, {hot}, 70),
            ('P1', 'messenger', 'u2', 'Budi', {sales}, {hot}, 65),
            ('P1', 'instagram', 'u3', 'Léa', NULL, NULL, 12);
        INSERT INTO jobs (page_id, kind, status, total_contacts, synced_contacts, failed_contacts,
                          started_at, created_at, errors)
        VALUES ('P1', 'FULL', 'IN_PROGRESS', 10, 2, 1, now() - interval '30 seconds',
                now() - interval '31 seconds',
                '[{{"platform": "messenger", "id": "t_9", "error": "Graph error 100: bad thread",
                   "code": 100}}]');
        INSERT INTO jobs (page_id, kind, status, token_expired, error, created_at, completed_at)
        VALUES ('P2', 'INCREMENTAL', 'FAILED', true, 'page token expired (Graph error 190)',
                now() - interval '1 hour', now() - interval '59 minutes');
    """)
    contact = await pool.fetchval("SELECT id FROM contacts WHERE external_id = 'u1'")
    await pool.execute(
        "INSERT INTO activities (contact_id, type, to_stage_id, lead_score) "
        f"VALUES ($1, 'STAGE_CHANGED', {HOT_STAGE}, 70)",
        contact,
    )
    return pool


@pytest.mark.parametrize("title", sorted(sql_panels()))
async def test_every_query_runs_on_the_migrated_schema(seeded, title):
    rows = await seeded.fetch(expand(sql_panels()[title]))
    assert rows, f"{title!r} shows nothing although the tables have data for it"


async def test_active_jobs_show_progress_rate_and_eta(seeded):
    rows = await seeded.fetch(expand(sql_panels()["Active jobs with progress"]))
    assert len(rows) == 1
    row = rows[0]
    assert (row["page"], row["kind"], row["done"], row["total"], float(row["progress"])) == (
        "Bakery Manila",
        "FULL",
        3,
        10,
        30.0,
    )
    assert row["items/s"] > 0 and row["eta"] > 0


async def test_failures_list_failed_jobs_and_failed_items_with_errors(seeded):
    rows = await seeded.fetch(expand(sql_panels()["Failures with their errors"]))
    errors = {(r["page"], r["error"]) for r in rows}
    assert errors == {
        ("Surf Shop Bali", "page token expired (Graph error 190)"),
        ("Bakery Manila", "Graph error 100: bad thread"),
    }


async def test_contacts_per_stage_counts_each_stage_and_the_unplaced(seeded):
    rows = await seeded.fetch(expand(sql_panels()["Contacts per stage"]))
    assert {r["stage"]: r["contacts"] for r in rows} == {
        "Sales / New": 0,
        "Sales / Hot": 2,
        "(not placed)": 1,
    }


async def test_jobs_per_status_are_time_series(seeded):
    rows = await seeded.fetch(expand(sql_panels()["Jobs per status over time"]))
    assert {r["metric"] for r in rows} == {"IN_PROGRESS", "FAILED"}
    assert all(r["time"] is not None for r in rows)
