"""The demo's run: reset, simulate Meta, start the services, configure, backfill, traffic, report."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.fernet import Fernet
from rich.console import Console

from leadsync.demo import login, report, scenario, services
from leadsync.sim.graph import serving
from services.analyzer.settings import AnalyzerSettings
from shared import db
from shared.broker import Topology, delete_topology
from shared.errors import DemoError
from shared.vocabulary import JobStatus


def demo_database_url(database_url: str, name: str) -> str:
    return urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))


def main(args: argparse.Namespace, settings: AnalyzerSettings) -> int:
    console = Console(highlight=False)
    return asyncio.run(_interruptible(_demo(args, settings, console), console, args))


async def _interruptible(main: Coroutine[Any, Any, int], console: Console, args: argparse.Namespace) -> int:
    """Ctrl-C (or SIGTERM) cancels the demo; its context managers stop everything they started."""
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        console.print("\nStopped: services and the simulated Graph API are down.")
        return 0 if args.keep_running else 130


async def _demo(args: argparse.Namespace, settings: AnalyzerSettings, console: Console) -> int:
    started = time.monotonic()
    amqp_url = settings.amqp_url.get_secret_value()
    database_url = demo_database_url(settings.database_url, args.name)
    if settings.llm_enabled:
        scorer = f"the LLM ({settings.llm_model} at {settings.openai_base_url or 'api.openai.com'})"
    else:
        scorer = "the deterministic fallback scorer (set OPENAI_API_KEY to use an LLM)"
    console.rule("[bold]leadsync demo")
    console.print(f"Scoring with {scorer}.")

    with console.status(f"Resetting database and broker namespace {args.name}…"):
        await db.drop_database(database_url)
        await delete_topology(amqp_url, Topology(args.name))
        await db.migrate(database_url)
    console.print(f"✓ fresh database and broker namespace {args.name}")

    pages = scenario.demo_pages(args.conversations)
    admin_token = secrets.token_urlsafe(32)
    app_secret = secrets.token_hex(16)
    graph = scenario.simulated_graph(pages, app_secret)
    log_path = Path(tempfile.mkdtemp(prefix="leadsync-demo-")) / "services.log"
    async with serving(graph) as graph_url, contextlib.AsyncExitStack() as running:
        env = _service_env(database_url, args.name, graph_url, admin_token, app_secret)
        env.update(META_APP_ID=graph.meta.app_id, META_WEB_BASE_URL=graph_url)
        with console.status("Starting webhook, analyzer, assigner and backfill…"):
            svc = await running.enter_async_context(
                services.running(env, port=services.pick_port(args.port), log_path=log_path)
            )
        console.print(f"✓ services up at {svc.url} (logs: {log_path})")
        await _scenario(args, console, svc, pages, database_url, admin_token, app_secret)
        report.next_steps(
            console,
            url=svc.url,
            admin_token=admin_token,
            keep_running=args.keep_running,
            database_url=database_url,
            namespace=args.name,
            log_path=str(log_path),
        )
        if args.keep_running:
            await asyncio.Event().wait()  # until Ctrl-C cancels us
        console.print("\nStopping the services…")
    console.print(f"\nDone in {time.monotonic() - started:.0f}s; everything is stopped.")
    return 0


def _service_env(
    database_url: str, namespace: str, graph_url: str, admin_token: str, app_secret: str
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        BROKER_NAMESPACE=namespace,
        META_APP_SECRET=app_secret,
        META_VERIFY_TOKEN=secrets.token_hex(8),
        ADMIN_TOKEN=admin_token,
        TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        GRAPH_API_BASE_URL=graph_url,
        # The simulated Graph API has no Meta limit to respect; real pages keep the default 2/s.
        GRAPH_CALLS_PER_SECOND="200",
        LOG_FORMAT="json",
        LOG_LEVEL="info",
        PYTHONUNBUFFERED="1",
    )
    return env


async def _scenario(
    args: argparse.Namespace,
    console: Console,
    svc: services.Services,
    pages: list[scenario.DemoPage],
    database_url: str,
    admin_token: str,
    app_secret: str,
) -> None:
    headers = {"Authorization": f"Bearer {admin_token}"}
    pool = await db.create_pool(database_url, min_size=1, max_size=2)
    try:
        async with httpx.AsyncClient(base_url=svc.url, headers=headers, timeout=10) as api:
            notice = await login.connect_pages(svc.url, admin_token, [p.id for p in pages])
            console.print(f"✓ pages connected through Connect pages (Facebook Login, simulated): {notice}")
            pipeline_id = await scenario.configure(api, pages)
            described = ", ".join(
                f"{p.name} ({p.messenger} Messenger"
                + (f", {p.instagram} Instagram" if p.instagram else "")
                + ")"
                for p in pages
            )
            console.print(f"✓ pipeline “Sales” with automatic score ranges; pages: {described}")
            console.print("\n[bold]Full backfill from the simulated Graph API[/bold]")
            jobs = await scenario.backfill(api, pages, console, within_s=150)
            failed = [j for j in jobs if j["status"] != JobStatus.COMPLETED]
            if failed:
                raise DemoError(
                    f"backfill job {failed[0]['id']} ended {failed[0]['status']}: "
                    f"{failed[0].get('error') or 'see the service logs'}"
                )
        await scenario.settled(pool, within_s=30)
        if args.traffic:
            with console.status(f"Sending {args.traffic} signed webhook deliveries…"):
                sent, items = await scenario.live_traffic(svc.url, app_secret, pages, args.traffic)
                caught_up = await scenario.settled(pool, within_s=45)
            console.print(
                f"✓ live traffic: {sent} signed deliveries ({items} items) accepted"
                + ("" if caught_up else "; analysis still catching up")
            )
        counts = await report.totals(pool)
        console.print()
        console.print(report.stage_table(await report.stage_counts(pool, pipeline_id), counts))
        console.print(
            f"{counts['messages']} messages stored, {counts['stage_changes']} stage "
            f"changes recorded; scored by LLM: {counts['by_llm']}, by fallback: "
            f"{counts['by_fallback']}"
        )
    finally:
        with contextlib.suppress(Exception):
            await pool.close()
