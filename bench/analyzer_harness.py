"""What both analyzer benchmarks share: a throwaway database and broker namespace, quiet logs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.fakes and tests.support are not installed packages

from shared import db, logging  # noqa: E402
from shared.broker import Topology, delete_topology  # noqa: E402
from shared.settings import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL  # noqa: E402


@dataclass
class Infra:
    database_url: str
    amqp_url: str
    topology: Topology
    pool: asyncpg.Pool


def run_namespace(kind: str) -> tuple[str, str, str, Topology]:
    """A run id, and a database (`leadsync_KIND_ID` on DATABASE_URL's server), AMQP_URL and a
    broker namespace (`KIND_ID`) of this run's own."""
    run_id = uuid.uuid4().hex[:8]
    base = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    database_url = urlunsplit(urlsplit(base)._replace(path=f"/leadsync_{kind}_{run_id}"))
    return run_id, database_url, os.environ.get("AMQP_URL", DEFAULT_AMQP_URL), Topology(f"{kind}_{run_id}")


@contextlib.asynccontextmanager
async def infrastructure(pool_size: int = 20) -> AsyncIterator[Infra]:
    """A migrated database and a namespace of this run's own, removed afterwards."""
    logging.configure(service="bench", fmt="console", level="warning")
    _, database_url, amqp_url, topology = run_namespace("bench")
    await db.migrate(database_url)
    pool = await db.create_pool(database_url, min_size=2, max_size=pool_size)
    # The page the benchmarks' events belong to is connected: live events of others are not analysed.
    await pool.execute("INSERT INTO pages (id, name) VALUES ('BENCH_PAGE', 'Bench shop')")
    try:
        yield Infra(database_url, amqp_url, topology, pool)
    finally:
        await pool.close()
        await db.drop_database(database_url)
        await delete_topology(amqp_url, topology)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextlib.asynccontextmanager
async def fake_llm_process(latency: float) -> AsyncIterator[str]:
    """tests/fakes/llm.py in a child process (so it does not share the analyzer's event loop,
    as a real LLM server would not); yields its base URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.llm",
        "--latency",
        str(latency),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        yield line.decode().strip()
    finally:
        proc.terminate()
        await proc.wait()


async def llm_stats(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.get(base_url.removesuffix("/v1") + "/stats")
        return response.json()  # type: ignore[no-any-return]
