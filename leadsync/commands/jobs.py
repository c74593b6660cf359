"""`leadsync jobs [--watch]`: backfill jobs with a progress bar each (done/total, rate, ETA, status)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from shared import db, job_admin
from shared.errors import DATABASE_ERRORS, CommandError
from shared.settings import BaseServiceSettings, load
from shared.vocabulary import ACTIVE_JOB_STATUSES, JobStatus

KIND_LABEL = {"INCREMENTAL": "INCR"}
STATUS_STYLE = {
    "PENDING": "yellow",
    "IN_PROGRESS": "cyan",
    "COMPLETED": "green",
    "FAILED": "red",
    "CANCELLED": "magenta",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("jobs", help="list backfill jobs with their progress")
    p.add_argument("--watch", action="store_true", help="refresh in place until Ctrl-C")
    p.add_argument("--limit", type=int, default=20, help="jobs to show (default 20)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load(BaseServiceSettings)
    return asyncio.run(show(settings.database_url, watch=args.watch, limit=args.limit))


async def show(
    database_url: str, *, watch: bool, limit: int = 20, job_ids: Sequence[str] = (), until_done: bool = False
) -> int:
    """Print the jobs table once, or keep it refreshed (until the given jobs end, if asked)."""
    try:
        pool = await db.create_pool(database_url, min_size=1, max_size=2)
    except DATABASE_ERRORS as err:
        raise CommandError(f"cannot reach the database: {err}") from None
    console = Console()
    try:
        jobs = await _load(pool, limit, job_ids)
        if not watch:
            console.print(render(jobs))
            return 0
        with Live(render(jobs), console=console, refresh_per_second=4, transient=False) as live:
            while True:
                await asyncio.sleep(1)
                jobs = await _load(pool, limit, job_ids)
                live.update(render(jobs))
                if until_done and jobs and all(j["status"] not in ACTIVE_JOB_STATUSES for j in jobs):
                    return 0 if all(j["status"] == JobStatus.COMPLETED for j in jobs) else 1
    except KeyboardInterrupt:
        return 0
    finally:
        await pool.close()


async def _load(pool: asyncpg.Pool, limit: int, job_ids: Sequence[str]) -> list[dict[str, Any]]:
    if job_ids:
        found = [await job_admin.get(pool, j) for j in job_ids]
        return [j for j in found if j is not None]
    return await job_admin.recent(pool, limit=limit)


def render(jobs: list[dict[str, Any]]) -> Table | Group:
    if not jobs:
        return Group(Text("no backfill jobs yet: start one with `leadsync backfill PAGE_ID`"))
    # Text columns keep their width; the bar takes what is left (narrow terminals included).
    table = Table(box=None, pad_edge=False, header_style="bold", expand=True, padding=(0, 1, 0, 0))
    for name, justify in (
        ("JOB", "left"),
        ("PAGE", "left"),
        ("KIND", "left"),
        ("STATUS", "left"),
        ("DONE/TOTAL", "right"),
        ("RATE", "right"),
        ("ETA", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("PROGRESS", ratio=1, min_width=8)
    for job in jobs:
        done = job["synced_contacts"] + job["failed_contacts"]
        total = job["total_contacts"]
        # Until enumeration ends the total still grows: the bar pulses instead of lying.
        bar_total = float(total) if total and job["enumeration_done"] else None
        bar = ProgressBar(
            total=bar_total,
            completed=float(done),
            pulse=job["status"] == JobStatus.IN_PROGRESS and bar_total is None,
        )
        if job["status"] == JobStatus.COMPLETED:
            bar = ProgressBar(total=1.0, completed=1.0)
        failed = f" ({job['failed_contacts']} failed)" if job["failed_contacts"] else ""
        table.add_row(
            job["id"][:8],
            job["page_id"],
            KIND_LABEL.get(job["kind"], job["kind"]),
            Text(job["status"], style=STATUS_STYLE.get(job["status"], "")),
            f"{done}/{total if total is not None else '?'}{failed}",
            f"{job['items_per_s']:.1f}/s" if job["items_per_s"] else "-",
            format_eta(job["eta_s"]) if job["status"] == JobStatus.IN_PROGRESS else "-",
            bar,
        )
    return table


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    if whole >= 60:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole}s"
