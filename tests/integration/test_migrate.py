"""`leadsync migrate` on the real Postgres: creates the database, is idempotent, tolerates races."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from shared import db

TABLES = {"pages", "pipelines", "stages", "contacts", "messages", "activities", "jobs", "job_items"}


@pytest.fixture
async def fresh_url(server_database_url):
    parts = urlsplit(server_database_url)
    url = urlunsplit(parts._replace(path=f"/leadsync_mig_{uuid.uuid4().hex[:8]}"))
    yield url
    await db.drop_database(url)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leadsync", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


async def test_migrate_creates_database_tables_and_view_then_is_a_no_op(fresh_url):
    first = await asyncio.to_thread(run_cli, "migrate", env={"DATABASE_URL": fresh_url})
    assert first.returncode == 0, first.stderr
    assert "applied 0001_schema" in first.stdout
    conn = await asyncpg.connect(fresh_url)
    try:
        tables = {
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert TABLES <= tables
        cols = [
            r["attname"]
            for r in await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'job_progress'::regclass "
                "AND attnum > 0 ORDER BY attnum"
            )
        ]
        assert cols[:8] == ["id", "page_id", "kind", "status", "percent", "items_per_s", "eta_s", "age_s"]
        before = await conn.fetchval("SELECT count(*) FROM schema_migrations")
    finally:
        await conn.close()
    second = await asyncio.to_thread(run_cli, "migrate", env={"DATABASE_URL": fresh_url})
    assert second.returncode == 0, second.stderr
    assert "already up to date" in second.stdout
    conn = await asyncpg.connect(fresh_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == before
    finally:
        await conn.close()


async def test_concurrent_migrations_both_succeed(fresh_url):
    results = await asyncio.gather(
        *(asyncio.to_thread(run_cli, "migrate", env={"DATABASE_URL": fresh_url}) for _ in range(3))
    )
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]
    assert sum("applied 0001_schema" in r.stdout for r in results) == 1


async def test_one_active_job_per_page_is_enforced(clean_db):
    await clean_db.execute("INSERT INTO pages (id, name) VALUES ('p1', 'Page')")
    await clean_db.execute("INSERT INTO jobs (page_id, kind) VALUES ('p1', 'FULL')")
    with pytest.raises(asyncpg.UniqueViolationError):
        await clean_db.execute(
            "INSERT INTO jobs (page_id, kind, status) VALUES ('p1', 'FULL', 'IN_PROGRESS')"
        )
    await clean_db.execute("INSERT INTO jobs (page_id, kind, status) VALUES ('p1', 'FULL', 'COMPLETED')")


async def test_job_progress_reports_percent_rate_and_eta(clean_db):
    await clean_db.execute("INSERT INTO pages (id, name) VALUES ('p1', 'Page')")
    await clean_db.execute(
        "INSERT INTO jobs (page_id, kind, status, total_contacts, synced_contacts, failed_contacts,"
        " started_at) VALUES ('p1', 'FULL', 'IN_PROGRESS', 200, 40, 10, now() - interval '10 seconds')"
    )
    row = await clean_db.fetchrow("SELECT * FROM job_progress")
    assert float(row["percent"]) == 25.0
    assert 4.0 <= float(row["items_per_s"]) <= 5.1
    assert 25 <= float(row["eta_s"]) <= 35


async def test_bad_database_url_fails_with_one_line():
    result = await asyncio.to_thread(
        run_cli, "migrate", env={"DATABASE_URL": "postgresql://postgres:hunter2secret@127.0.0.1:1/x"}
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("leadsync: migrate failed")
    assert "hunter2secret" not in result.stderr


async def test_migrate_analyses_the_tables_so_lookups_plan_on_the_unique_index(fresh_url):
    await db.migrate(fresh_url)
    conn = await asyncpg.connect(fresh_url)
    try:
        never = await conn.fetch(
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY($1::text[]) "
            "AND last_analyze IS NULL",
            ["contacts", "analyzer_conversations", "job_items", "jobs"],
        )
        assert never == []
    finally:
        await conn.close()


async def test_a_released_connection_gets_no_reset_query_but_its_transaction_is_rolled_back(fresh_url):
    await db.migrate(fresh_url)
    pool = await db.create_pool(fresh_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            # Nothing in the code sets session state; a setting here shows no RESET ALL ran.
            await conn.execute("SET application_name = 'kept'")
            tx = conn.transaction()
            await tx.start()
            await conn.execute("INSERT INTO pages (id, name) VALUES ('RB', 'rolled back')")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") == "kept"
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT count(*) FROM pages WHERE id = 'RB'") == 0
    finally:
        await pool.close()
