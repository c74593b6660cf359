"""`clean_db` empties every table the migrations created, whatever a later migration adds."""

from __future__ import annotations

import asyncpg

from tests.support import database


async def test_clean_db_empties_every_table_but_the_migrations_record(pool: asyncpg.Pool) -> None:
    await pool.execute(
        """
        INSERT INTO analyzer_conversations (page_id, platform, contact_external_id)
        VALUES ('P_CLEAN', 'messenger', 'c1') ON CONFLICT DO NOTHING
        """
    )
    await database.empty(pool)  # what the clean_db fixture does before a test
    tables = await database.data_tables(pool)
    assert "analyzer_conversations" in tables and "schema_migrations" not in tables
    for table in tables:
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    assert await pool.fetchval("SELECT count(*) FROM schema_migrations") > 0
