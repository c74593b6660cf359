"""The chaos suite's stack: the four services under a restarting supervisor, the simulated Graph
API, the fake LLM, and a session-wide safety net that brings every faulted server back."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from leadsync.sim.graph import SimGraph, serving
from shared import db
from shared.broker import Topology
from tests.fakes.llm import OK, FakeLLM
from tests.support import chaos_harness as harness
from tests.support import secrets as test_secrets
from tests.support.pipelines import SHORT, new_pipeline
from tests.support.stack import free_port


@dataclass(frozen=True)
class Size:
    """Short form in `make test`; `make chaos` sets LEADSYNC_CHAOS_ROUNDS=5 and bigger loads."""

    rounds: int
    deliveries: int  # signed webhook deliveries per scenario
    conversations: int  # conversations of each scenario's backfill
    llm_outage_s: float

    @classmethod
    def from_env(cls) -> Size:
        rounds = int(os.environ.get("LEADSYNC_CHAOS_ROUNDS", "1"))
        long = rounds > 1
        return cls(
            rounds=rounds,
            deliveries=int(os.environ.get("LEADSYNC_CHAOS_DELIVERIES", "400" if long else "80")),
            conversations=int(os.environ.get("LEADSYNC_CHAOS_CONVERSATIONS", "600" if long else "200")),
            llm_outage_s=float(os.environ.get("LEADSYNC_CHAOS_LLM_OUTAGE_S", "60" if long else "10")),
        )


@dataclass
class Chaos:
    env: dict[str, str]
    url: str
    dsn: str
    admin_dsn: str
    amqp_url: str
    topology: Topology
    targets: harness.Targets
    supervisor: harness.Supervisor
    sim: SimGraph
    llm: FakeLLM
    api: httpx.AsyncClient
    pipeline_id: str
    size: Size
    llm_mode: list[str]


def admin_dsn(dsn: str) -> str:
    """The server's `postgres` database: faults of the project database are issued from there."""
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(dsn)._replace(path="/postgres"))


@pytest.fixture(scope="session")
async def chaos_safety_net(
    server_database_url: str, database_url: str, amqp_url: str
) -> AsyncIterator[harness.Targets]:
    """Whatever a scenario broke is restored at the end, even if its own `finally` could not."""
    targets = harness.Targets.from_env()
    await harness.check_targets(targets, database_url, amqp_url)
    await harness.check_alone(admin_dsn(server_database_url), db.database_name(database_url))
    try:
        yield targets
    finally:
        await harness.ensure_postgres(targets)
        await harness.ensure_rabbitmq(targets)
        import asyncpg

        conn = await asyncpg.connect(admin_dsn(server_database_url))
        try:
            await conn.execute(f'ALTER DATABASE "{db.database_name(database_url)}" ALLOW_CONNECTIONS true')
        finally:
            await conn.close()


@pytest.fixture(scope="module")
async def chaos(
    service_env: dict[str, Any],
    server_database_url: str,
    database_url: str,
    amqp_url: str,
    namespace: str,
    chaos_safety_net: harness.Targets,
) -> AsyncIterator[Chaos]:
    mode = [OK]
    sim = SimGraph(latency=0.002, app_secret=test_secrets.APP_SECRET)
    async with (
        serving(sim) as graph_url,
        FakeLLM(latency=0.005, responder=lambda body, calls: mode[0], hang_s=5) as llm,
    ):
        port = free_port()
        env = {
            **service_env,
            "PORT": str(port),
            "GRAPH_API_BASE_URL": graph_url,
            "GRAPH_CALLS_PER_SECOND": "500",
            "BACKFILL_PAGE_SIZE": "50",
            "BACKFILL_HEARTBEAT_S": "0.3",
            "BACKFILL_STALE_AFTER_S": "3",
            "BACKFILL_SCHEDULER_INTERVAL_S": "0.5",
            "BACKFILL_SETTLE_TIMEOUT_S": "3600",
            "OPENAI_API_KEY": "sk-chaos-0123456789abcdef",
            "OPENAI_BASE_URL": llm.base_url,
            "LLM_RPM": "100000",
            "LLM_TPM": "1000000000",
            "LLM_TIMEOUT_S": "1",
            "LLM_BACKOFF_S": "0.05",
            "ANALYZER_DEBOUNCE_S": "0.3",
            "LOG_LEVEL": "info",
        }
        supervisor = harness.Supervisor(env)
        await supervisor.start(*harness.SERVICES)
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {env['ADMIN_TOKEN']}"}
        try:
            async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as api:
                await _ready(api, supervisor)
                pipeline_id = await new_pipeline(api, SHORT, name="Chaos")
                yield Chaos(
                    env,
                    url,
                    database_url,
                    admin_dsn(server_database_url),
                    amqp_url,
                    Topology(namespace),
                    chaos_safety_net,
                    supervisor,
                    sim,
                    llm,
                    api,
                    pipeline_id,
                    Size.from_env(),
                    mode,
                )
        finally:
            await supervisor.stop()


async def _ready(api: httpx.AsyncClient, supervisor: harness.Supervisor) -> None:
    import asyncio

    for _ in range(300):
        started = sum(
            supervisor.logs(n).count("consumer.started") > 0 for n in ("analyzer", "assigner", "backfill")
        )
        try:
            ready = (await api.get("/readyz")).status_code == 200
        except httpx.HTTPError:
            ready = False
        if ready and started == 3:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("chaos stack not ready:\n" + "\n".join(supervisor.logs(n) for n in harness.SERVICES))
