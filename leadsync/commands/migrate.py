"""`leadsync migrate`: create the database if needed and apply pending migrations."""

from __future__ import annotations

import argparse
import asyncio

from shared import db
from shared.errors import DATABASE_ERRORS, CommandError, MigrationError
from shared.settings import BaseServiceSettings, load

_FAILURES: tuple[type[BaseException], ...] = (*DATABASE_ERRORS, MigrationError)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("migrate", help="create the database and apply migrations")
    p.set_defaults(func=run)


def run(_: argparse.Namespace) -> int:
    settings = load(BaseServiceSettings)
    try:
        applied = asyncio.run(db.migrate(settings.database_url))
    except _FAILURES as err:
        raise CommandError(f"migrate failed: {err}") from None
    name = db.database_name(settings.database_url)
    if applied:
        print(f"migrated {name}: applied {', '.join(f'{m.version:04d}_{m.name}' for m in applied)}")
    else:
        print(f"migrated {name}: already up to date")
    return 0
