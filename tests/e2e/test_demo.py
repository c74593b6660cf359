"""`leadsync demo` runs from start to the final stage table, stops everything, and runs again."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from services.analyzer import fallback
from shared import db
from shared.broker import Topology, delete_topology
from shared.messages import ChatMessage
from tests.fakes.llm import FakeLLM

STAGES = ("New lead", "Interested", "Ready to buy", "Won", "Lost")


@pytest.fixture
async def demo_name(server_database_url, amqp_url, run_id):
    name = f"lstest_{run_id}_demo"
    yield name
    await db.drop_database(urlunsplit(urlsplit(server_database_url)._replace(path=f"/{name}")))
    await delete_topology(amqp_url, Topology(name))


async def demo(
    env: dict[str, str], name: str, conversations: int, traffic: int, *more: str
) -> asyncio.subprocess.Process:
    """`leadsync demo` as a user runs it, its output (stdout and stderr) piped."""
    command = [
        "--conversations",
        str(conversations),
        "--traffic",
        str(traffic),
        "--port",
        "0",
        "--name",
        name,
    ]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "leadsync",
        "demo",
        *command,
        *more,
        env={**env, "COLUMNS": "140"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def run_demo(
    env: dict[str, str], name: str, conversations: int = 20, traffic: int = 6
) -> tuple[int, str]:
    proc = await demo(env, name, conversations, traffic)
    out, _ = await asyncio.wait_for(proc.communicate(), 170)
    return proc.returncode or 0, out.decode()


async def test_the_demo_runs_to_the_stage_table_twice(service_env, server_database_url, demo_name):
    code, out = await run_demo(service_env, demo_name)
    assert code == 0, out
    assert "Scoring with the deterministic fallback scorer" in out
    assert "Casa Sofía Bakery" in out and "Ola Surf Shop" in out
    # The pages come in the way a business connects its own: Facebook Login, not an insert.
    assert "pages connected through Connect pages" in out and "Connected 2 pages" in out
    assert "100%" in out and "live traffic: 6 signed deliveries" in out
    table = out[out.index("Contacts per stage") :]
    for stage in STAGES:
        assert f"│ {stage}" in table, table
    assert "0 not placed" in table
    assert "everything is stopped" in out

    url = urlunsplit(urlsplit(server_database_url)._replace(path=f"/{demo_name}"))
    conn = await asyncpg.connect(url)
    try:
        first = await conn.fetchval("SELECT count(*) FROM contacts")
        assert first >= 20
        assert await conn.fetchval("SELECT count(*) FROM contacts WHERE stage_id IS NULL") == 0
        assert await conn.fetchval("SELECT count(*) FROM jobs WHERE status = 'COMPLETED'") == 2
        # Closed deals are shown, and each was closed by the page: its transcript holds a page
        # message confirming the payment (a customer's "paid" alone is never Won).
        won = await conn.fetch("""SELECT c.page_id, c.platform, c.external_id FROM contacts c
                                  JOIN stages s ON s.id = c.stage_id WHERE s.type = 'WON'""")
        assert won, table
        for contact in won:
            rows = await conn.fetch(
                """SELECT mid, from_page, text, sent_at FROM messages WHERE page_id = $1
                   AND platform = $2 AND contact_external_id = $3 ORDER BY sent_at""",
                *contact,
            )
            transcript = [ChatMessage(**dict(r)) for r in rows]
            assert fallback.confirmation_mids(transcript), [m.text for m in transcript]
    finally:
        await conn.close()

    # A second run starts from a clean slate instead of piling onto the first.
    code, again = await run_demo(service_env, demo_name)
    assert code == 0, again
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM contacts") == first
        assert await conn.fetchval("SELECT count(*) FROM jobs") == 2
    finally:
        await conn.close()


async def test_the_demo_says_it_scores_with_the_llm_when_a_key_is_set(service_env, demo_name):
    async with FakeLLM() as llm:
        env = {**service_env, "OPENAI_API_KEY": "sk-demo-test", "OPENAI_BASE_URL": llm.base_url}
        code, out = await run_demo(env, demo_name, conversations=12, traffic=4)
    assert code == 0, out
    assert "Scoring with the LLM (gpt-4o-mini at " + llm.base_url in out
    assert llm.calls > 0
    assert re.search(r"scored by LLM: [1-9]\d*, by fallback: 0", out), out
    assert "sk-demo-test" not in out


async def test_keep_running_serves_the_console_until_ctrl_c(service_env, demo_name):
    proc = await demo(service_env, demo_name, 10, 0, "--keep-running")
    seen = ""
    assert proc.stdout is not None
    while "Ctrl-C stops everything" not in seen:
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        assert line, f"the demo ended before it was up:\n{seen}"
        seen += line.decode()
    url = re.search(r"Ops console: (http://127\.0\.0\.1:\d+)/ops/", seen)[1]  # type: ignore[index]
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{url}/ops/login")).status_code == 200

        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, rest.decode()
        assert "Stopped: services and the simulated Graph API are down." in rest.decode()
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{url}/healthz")
