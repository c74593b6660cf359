"""What the admin commands (pages, pipelines, contacts) share: a database connection, errors
turned into one line, and rich tables.

These commands talk to Postgres directly (DATABASE_URL) with the admin API's own validation
models and SQL, so they work before any service runs, exactly as `leadsync migrate` does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table

from shared import db
from shared.errors import DATABASE_ERRORS, CommandError, StoreError
from shared.settings import BaseServiceSettings

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@contextlib.asynccontextmanager
async def connection(settings: BaseServiceSettings) -> AsyncIterator[asyncpg.Connection]:
    """One connection to DATABASE_URL, closed after; unreachable is a CommandError."""
    try:
        conn = await db.connect(settings.database_url)
    except DATABASE_ERRORS as err:
        raise CommandError(f"cannot reach the database: {err}") from None
    try:
        yield conn
    finally:
        await conn.close()


def run(settings: BaseServiceSettings, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run `work` on one connection; database and store errors become a CommandError."""

    async def main() -> T:
        conn = await db.connect(settings.database_url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    try:
        return asyncio.run(main())
    except StoreError as err:
        raise CommandError(err.message) from None
    except asyncpg.UndefinedTableError:
        raise CommandError("the database has no leadsync tables; run `leadsync migrate` first") from None
    except DATABASE_ERRORS as err:
        raise CommandError(f"database error: {err}") from None


def validate(model: type[M], data: dict[str, Any]) -> M:
    """The API's validation, reported as one line naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        raise CommandError(f"{field}: {first['msg']}") from None


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(cell(v) for v in row))
    Console(width=160).print(table)
