"""What the demo does to the running services: set up pages and a pipeline, backfill, live traffic."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from leadsync.commands.simulate import send
from leadsync.sim.graph import SimGraph
from leadsync.sim.traffic import deliveries
from shared.errors import DemoError
from shared.vocabulary import TERMINAL_JOB_STATUSES

# A sales pipeline as a small shop would set it up; ranges come from §7.2's automatic bands.
STAGES = [
    {"name": "New lead", "type": "LEAD"},
    {"name": "Interested", "type": "IN_PROGRESS"},
    {"name": "Ready to buy", "type": "IN_PROGRESS"},
    {"name": "Won", "type": "WON"},
    {"name": "Lost", "type": "LOST"},
]


@dataclass
class DemoPage:
    id: str
    name: str
    messenger: int
    instagram: int
    instagram_account_id: str | None = None
    token: str = field(default_factory=lambda: "demo-" + secrets.token_urlsafe(24))


def demo_pages(conversations: int) -> list[DemoPage]:
    """Two pages: a Messenger-only bakery and a surf shop on Messenger and Instagram."""
    bakery = conversations * 2 // 5
    surf_messenger = conversations // 5
    return [
        DemoPage("101000000000001", "Casa Sofía Bakery", messenger=bakery, instagram=0),
        DemoPage(
            "101000000000002",
            "Ola Surf Shop",
            messenger=surf_messenger,
            instagram=conversations - bakery - surf_messenger,
            instagram_account_id="17841400000000002",
        ),
    ]


DEMO_OWNER = ("10150000000000001", "Sofía García")


def simulated_graph(pages: list[DemoPage], app_secret: str) -> SimGraph:
    """The simulated Meta: the pages' conversations, and the owner who may connect them."""
    graph = SimGraph(app_secret=app_secret)
    for i, page in enumerate(pages):
        graph.add_page(
            page.id,
            page.token,
            messenger=page.messenger,
            instagram=page.instagram,
            instagram_account_id=page.instagram_account_id,
            seed=i,
            name=page.name,
        )
    graph.meta.add_user(*DEMO_OWNER, [p.id for p in pages])
    return graph


async def _call(api: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    response = await api.request(method, path, json=body)
    if response.status_code >= 400:
        raise DemoError(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
    return response.json()


async def configure(api: httpx.AsyncClient, pages: list[DemoPage]) -> str:
    """The pipeline with automatic score ranges, and the connected pages placing contacts into it."""
    pipeline = await _call(api, "POST", "/api/pipelines", {"name": "Sales", "stages": STAGES})
    await _call(api, "POST", f"/api/pipelines/{pipeline['id']}/score-ranges")
    for page in pages:
        await _call(
            api,
            "PATCH",
            f"/api/pages/{page.id}",
            {
                "auto_pipeline_id": pipeline["id"],
                "auto_pipeline_mode": "UPDATE_EXISTING",
                # The demo starts its syncs itself; the scheduler would race it for the first one.
                "auto_sync": False,
            },
        )
    return str(pipeline["id"])


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<22}"),
        BarColumn(bar_width=36),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


async def backfill(
    api: httpx.AsyncClient, pages: list[DemoPage], console: Console, *, within_s: float
) -> list[dict[str, Any]]:
    """Full backfill of every page, shown as live progress bars until each job has ended."""
    jobs = {}
    for page in pages:
        started = await _call(api, "POST", "/api/backfill", {"page_id": page.id, "mode": "full"})
        jobs[started["job_id"]] = page
    deadline = time.monotonic() + within_s
    final: dict[str, dict[str, Any]] = {}
    with _progress(console) as bars:
        tasks = {job_id: bars.add_task(page.name, total=None, rate="") for job_id, page in jobs.items()}
        while len(final) < len(jobs):
            for job_id, task in tasks.items():
                if job_id in final:
                    continue
                job = await _call(api, "GET", f"/api/jobs/{job_id}")
                done = job["synced_contacts"] + job["failed_contacts"]
                rate = f"{job['items_per_s']:.1f}/s" if job.get("items_per_s") else ""
                bars.update(task, total=job["total_contacts"], completed=done, rate=rate)
                if job["status"] in TERMINAL_JOB_STATUSES:
                    final[job_id] = job
                    bars.update(task, total=job["total_contacts"] or done, completed=done)
            if time.monotonic() > deadline:
                raise DemoError(f"the backfill did not finish within {within_s:.0f}s")
            await asyncio.sleep(0.25)
    return list(final.values())


async def live_traffic(url: str, secret: str, pages: list[DemoPage], count: int) -> tuple[int, int]:
    """Signed Messenger and Instagram deliveries, like Meta sends them; (deliveries, items)."""
    messenger = next(p for p in pages if p.messenger and not p.instagram)
    instagram = next(p for p in pages if p.instagram_account_id)
    traffic = deliveries(
        count,
        platform="both",
        page_id=messenger.id,
        ig_account_id=instagram.instagram_account_id or "",
        start_ms=int(time.time() * 1000),
        seed=4242,
    )
    statuses, kinds = await send(
        traffic, url=f"{url}/webhooks/meta", secret=secret.encode(), rate=0, concurrency=4
    )
    refused = sum(n for code, n in statuses.items() if code != 200)
    if refused:
        raise DemoError(f"{refused} webhook deliveries were refused: {dict(statuses)}")
    return sum(statuses.values()), sum(kinds.values())


async def settled(pool: asyncpg.Pool, *, within_s: float, quiet_s: float = 2.0) -> bool:
    """Wait until every conversation is analysed and placed (nothing changed for `quiet_s`)."""
    deadline = time.monotonic() + within_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        state = await pool.fetchrow(
            """
            SELECT (SELECT count(*) FROM messages) AS messages,
                   (SELECT count(*) FROM contacts) AS contacts,
                   (SELECT max(updated_at) FROM contacts) AS changed,
                   (SELECT count(DISTINCT (page_id, platform, contact_external_id)) FROM messages
                    WHERE NOT from_page) AS conversations
            """
        )
        snapshot = tuple(state)
        if snapshot != last:
            last, since = snapshot, time.monotonic()
        elif state["contacts"] >= state["conversations"] and time.monotonic() - since >= quiet_s:
            return True
        await asyncio.sleep(0.25)
    return False
