"""The test database's tables, read from the schema, and how a test starts from empty ones."""

from __future__ import annotations

import asyncpg


async def data_tables(pool: asyncpg.Pool) -> list[str]:
    """Every table the migrations created except their own record of what ran."""
    rows = await pool.fetch(
        """
        SELECT quote_ident(tablename) AS name FROM pg_tables
        WHERE schemaname = current_schema() AND tablename <> 'schema_migrations' ORDER BY tablename
        """
    )
    return [r["name"] for r in rows]


async def empty(pool: asyncpg.Pool) -> None:
    """Empty every data table (identities restart), whatever a later migration adds."""
    await pool.execute(f"TRUNCATE {', '.join(await data_tables(pool))} RESTART IDENTITY CASCADE")
