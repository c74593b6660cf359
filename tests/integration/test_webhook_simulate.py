"""`leadsync simulate` against a running webhook: every simulated message is published."""

from __future__ import annotations

import asyncio
import sys

from leadsync.sim.traffic import deliveries
from tests.support.stack import running
from tests.support.webhook import probe


async def simulate(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "leadsync",
        "simulate",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_simulated_traffic_is_accepted_and_every_message_published(
    service_env, clean_db, amqp_url, namespace
):
    await clean_db.execute(
        "INSERT INTO pages (id, name, instagram_account_id) VALUES ('PAGE_SIMT', 'Sim', 'IG_SIMT')"
    )
    expected = sum(d.messages for d in deliveries(30, platform="both", start_ms=0, seed=3))
    async with probe(amqp_url, namespace) as watch, running(service_env, "webhook") as stack:
        code, out, err = await simulate(
            "--url",
            f"{stack.url}/webhooks/meta",
            "--secret",
            service_env["META_APP_SECRET"],
            "--count",
            "30",
            "--platform",
            "both",
            "--seed",
            "3",
            "--page-id",
            "PAGE_SIMT",
            "--ig-account-id",
            "IG_SIMT",
        )
        assert code == 0, err
        assert "sent 30 deliveries" in out and "30 x 200" in out
        updates = await watch.updates()
    assert sum(len(u.messages) for u in updates) == expected
    assert {u.platform for u in updates} == {"messenger", "instagram"}
    assert {u.page_id for u in updates} == {"PAGE_SIMT"}
    assert any(m.from_page for u in updates for m in u.messages)  # echoes are there too

    async with running(service_env, "webhook") as stack:
        code, out, err = await simulate(
            "--url", f"{stack.url}/webhooks/meta", "--secret", "not-the-secret", "--count", "3"
        )
    assert code == 1
    assert err.strip().count("\n") == 0 and "refused" in err and "401" in err
