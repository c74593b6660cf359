"""Faults during a backfill and live signed traffic: the ledger must balance after each one.

Each scenario registers a fresh live page and a fresh backfilled page (several hundred
conversations), starts the backfill and a Meta-like sender (retrying every non-200), breaks
something while both run, puts it back, and checks the ledger (tests/chaos/ledger.py), which it
prints. `make test` runs one round of each; `make chaos` five rounds with thousands of events.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import aio_pika
import pytest

from leadsync.sim.traffic import deliveries
from shared import db
from shared.broker import Publisher
from shared.messages import ConversationUpdated
from tests.chaos.conftest import Chaos
from tests.fakes.llm import HANG, OK, SERVER_ERROR
from tests.support import chaos_harness as harness
from tests.support.chaos_ledger import Scenario, dead_depths, settle
from tests.support.meta_sender import MetaSender

Fault = Callable[[Chaos, Scenario], Awaitable[None]]


def token(page_id: str) -> str:
    return f"EAAchaos{page_id}0123456789abcdefXYZ"  # the simulated Graph API tells pages by token


async def _register(chaos: Chaos, page_id: str) -> None:
    r = await chaos.api.post(
        "/api/pages",
        json={
            "id": page_id,
            "name": f"Chaos {page_id}",
            "access_token": token(page_id),
            "auto_pipeline_id": chaos.pipeline_id,
            "auto_sync": False,
        },
    )
    assert r.status_code == 201, r.text


@contextlib.asynccontextmanager
async def scenario(chaos: Chaos, name: str, *, traffic_s: float) -> AsyncIterator[Scenario]:
    """Start a backfill and live traffic; the block breaks something; then check the ledger."""
    started = time.monotonic()
    tag = uuid.uuid4().hex[:6]
    live, backfilled = f"LIVE_{tag}", f"BF_{tag}"
    chaos.sim.add_page(
        backfilled, token(backfilled), messenger=chaos.size.conversations, seed=hash(tag) % 1000
    )
    await _register(chaos, live)
    await _register(chaos, backfilled)
    r = await chaos.api.post("/api/backfill", json={"page_id": backfilled, "mode": "full"})
    assert r.status_code == 202, r.text
    s = Scenario(
        name,
        live,
        backfilled,
        r.json()["job_id"],
        dead_before=await dead_depths(chaos.amqp_url, chaos.topology),
    )
    sender = MetaSender(
        f"{chaos.url}/webhooks/meta",
        chaos.env["META_APP_SECRET"],
        concurrency=4,
        rate=chaos.size.deliveries / traffic_s,
    )
    s.accepted = sender.accepted
    bodies = [
        d.body
        for d in deliveries(
            chaos.size.deliveries,
            page_id=live,
            start_ms=int(time.time() * 1000),
            seed=random.randrange(10**6),
        )
    ]
    traffic = asyncio.create_task(sender.send_all(bodies))
    try:
        yield s
        await traffic
    finally:
        if not traffic.done():
            traffic.cancel()
            await asyncio.gather(traffic, return_exceptions=True)
    ledger = await settle(chaos.dsn, chaos.amqp_url, chaos.topology, s, timeout=90)
    LEDGERS.append(f"{ledger.line()} [{time.monotonic() - started:.0f} s]")
    assert ledger.ok, ledger.line() + "\n" + _tails(chaos)


LEDGERS: list[str] = []  # printed at the end of the module, whatever the outcome


@pytest.fixture(autouse=True, scope="module")
def _print_ledgers(request: pytest.FixtureRequest):
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\nchaos ledgers:\n" + "\n".join("  " + line for line in LEDGERS), flush=True)


def _tails(chaos: Chaos) -> str:
    return "\n".join(f"--- {n} ---\n{chaos.supervisor.logs(n)[-3000:]}" for n in harness.SERVICES)


def rounds() -> list[int]:
    from tests.chaos.conftest import Size

    return list(range(1, Size.from_env().rounds + 1))


@pytest.mark.parametrize("round_", rounds())
async def test_consumers_killed_at_random_moments(chaos: Chaos, round_: int):
    async def kill_later(name: str) -> None:
        await asyncio.sleep(random.uniform(0.5, 4.0))
        chaos.supervisor.kill(name)

    async with scenario(chaos, f"kill -9 analyzer, assigner, backfill (round {round_})", traffic_s=6):
        await asyncio.gather(*(kill_later(name) for name in ("analyzer", "assigner", "backfill")))


@pytest.mark.parametrize("round_", rounds())
async def test_rabbitmq_stopped_and_started(chaos: Chaos, round_: int):
    async with scenario(chaos, f"rabbitmqctl stop_app / start_app (round {round_})", traffic_s=8):
        await asyncio.sleep(1.5)
        async with harness.rabbitmq_stopped(chaos.targets):
            await asyncio.sleep(3)


@pytest.mark.parametrize("round_", rounds())
async def test_postgres_restarted(chaos: Chaos, round_: int):
    async with scenario(chaos, f"pg_ctlcluster restart (round {round_})", traffic_s=4):
        await asyncio.sleep(1.5)
        await harness.restart_postgres(chaos.targets)


@pytest.mark.parametrize("round_", rounds())
async def test_postgres_refuses_the_project_database_for_30_seconds(chaos: Chaos, round_: int):
    opened_before = chaos.supervisor.logs("analyzer").count("circuit.opened")
    async with scenario(chaos, f"database refused for 30 s (round {round_})", traffic_s=25):
        await asyncio.sleep(1.5)
        async with harness.database_refused(chaos.admin_dsn, db.database_name(chaos.dsn)):
            await asyncio.sleep(30)
    # The analyzer paused behind its circuit instead of burning retries.
    assert chaos.supervisor.logs("analyzer").count("circuit.opened") > opened_before


@pytest.mark.parametrize("round_", rounds())
async def test_the_llm_answers_errors_and_timeouts(chaos: Chaos, round_: int):
    before = chaos.llm.outcomes[SERVER_ERROR] + chaos.llm.outcomes[HANG]
    async with scenario(
        chaos,
        f"LLM 500s and timeouts for {chaos.size.llm_outage_s:g} s (round {round_})",
        traffic_s=chaos.size.llm_outage_s,
    ):
        deadline = time.monotonic() + chaos.size.llm_outage_s
        try:
            while time.monotonic() < deadline:
                chaos.llm_mode[0] = SERVER_ERROR if chaos.llm_mode[0] != SERVER_ERROR else HANG
                await asyncio.sleep(1)
        finally:
            chaos.llm_mode[0] = OK
    assert chaos.llm.outcomes[SERVER_ERROR] + chaos.llm.outcomes[HANG] > before


@pytest.mark.parametrize("round_", rounds())
async def test_poison_messages_are_dead_lettered_at_once_and_the_stream_flows(chaos: Chaos, round_: int):
    async with scenario(chaos, f"poison messages (round {round_})", traffic_s=4) as s:
        await asyncio.sleep(1)
        publisher = Publisher(chaos.amqp_url, chaos.topology)
        try:
            future = ConversationUpdated(page_id=s.live_page, platform="messenger", contact_id="ghost")
            await publisher.publish_raw(
                aio_pika.Message(b'{"page_id": "P", truncated', content_type="application/json"),
                "conversation.updated.messenger",
            )
            await publisher.publish(future, headers={"v": 99})
        finally:
            await publisher.close()
        s.poison = 2
        dead = chaos.topology.dead(chaos.topology.queue("analyzer"))
        async with asyncio.timeout(15):
            while (await dead_depths(chaos.amqp_url, chaos.topology))[dead] - s.dead_before[dead] < 2:
                await asyncio.sleep(0.2)
