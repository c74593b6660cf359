"""Deliveries Meta really sends that used to be lost whole: repeated mids, NUL characters, and
10,000 items in one body (split into messages of at most 500 events)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import aio_pika
import asyncpg
import httpx

from services.webhook.signature import sign
from shared import messages
from shared.broker import MAX_EVENTS_PER_MESSAGE, Topology, declare_topology
from shared.messages import ConversationUpdated
from tests.support.eventually import eventually
from tests.support.pipelines import sales_page
from tests.support.stack import running
from tests.support.topology import queue_depth

TS = 1764028800000


def item(user: str, ts: int, message: dict[str, Any] | None = None, **other: object) -> dict[str, Any]:
    body: dict[str, Any] = {"sender": {"id": user}, "recipient": {"id": PAGE}, "timestamp": ts, **other}
    if message is not None:
        body["message"] = message
    return body


PAGE = "PAGE_SHAPES"
# Name lookups go to a closed loopback port (refused at once) instead of the real Graph API.
NO_GRAPH = {"GRAPH_API_BASE_URL": "http://127.0.0.1:9"}


async def _pipeline_page(client: httpx.AsyncClient, page_id: str) -> None:
    await sales_page(
        client,
        page_id,
        page_id,
        "EAAshapes0123456789abc",
        stages=[("New", "LEAD"), ("Talking", "IN_PROGRESS")],
        auto_pipeline_mode="SKIP_EXISTING",
        auto_sync=False,
    )


async def _deliver(client: httpx.AsyncClient, url: str, body: bytes, secret: str) -> httpx.Response:
    return await client.post(
        f"{url}/webhooks/meta",
        content=body,
        headers={"X-Hub-Signature-256": sign(body, secret.encode()), "Content-Type": "application/json"},
    )


async def _until(
    pool: asyncpg.Pool, query: str, expected: object, *args: object, timeout: float = 60
) -> object:
    """The query's value once it is `expected`, or the last value seen after `timeout` s."""

    async def reached() -> bool:
        return await pool.fetchval(query, *args) == expected

    with contextlib.suppress(AssertionError):
        await eventually(reached, what=f"{query!r} = {expected!r}", timeout=timeout, interval=0.2)
    return await pool.fetchval(query, *args)


async def test_repeated_mids_and_nul_text_are_stored_once_newest_and_clean(clean_db, service_env):
    entries = [
        {
            "id": PAGE,
            "time": TS,
            "messaging": [
                item("U1", TS, {"mid": "m_twice", "text": "is it in stock?"}),
                item("U1", TS + 1000, {"mid": "m_edit", "text": "two please"}),
                item("U1", TS + 2000, {"mid": "m_gone", "text": "my card is 4111"}),
                item("U1", TS + 3000, {"mid": "m_nul", "text": "price\u0000 list?"}),
            ],
        },
        {
            "id": PAGE,
            "time": TS,
            "messaging": [
                item("U1", TS, {"mid": "m_twice", "text": "is it in stock?"}),  # the same mid again
                item("U1", TS + 5000, message_edit={"mid": "m_edit", "text": "ten please", "num_edit": 1}),
                item("U1", TS + 6000, {"mid": "m_gone", "is_deleted": True}),
            ],
        },
    ]
    body = json.dumps({"object": "page", "entry": entries}, separators=(",", ":")).encode()
    assert b"\\u0000" in body
    async with (
        running(service_env, "webhook", "analyzer", "assigner", extra_env=NO_GRAPH) as stack,
        httpx.AsyncClient(
            base_url=stack.url, headers={"Authorization": f"Bearer {service_env['ADMIN_TOKEN']}"}
        ) as client,
    ):
        dead_queue = Topology(service_env["BROKER_NAMESPACE"]).dead(
            f"{service_env['BROKER_NAMESPACE']}.analyzer"
        )
        dead_before = await queue_depth(service_env["AMQP_URL"], dead_queue)
        await _pipeline_page(client, PAGE)
        r = await _deliver(client, stack.url, body, service_env["META_APP_SECRET"])
        assert r.status_code == 200
        placed = await _until(
            clean_db, "SELECT count(*) FROM contacts WHERE page_id = $1 AND stage_id IS NOT NULL", 1, PAGE
        )
        assert placed == 1, stack.logs()
        rows = {
            r["mid"]: r
            for r in await clean_db.fetch(
                "SELECT mid, text, edit_count, deleted FROM messages WHERE page_id = $1", PAGE
            )
        }
        dead = await queue_depth(service_env["AMQP_URL"], dead_queue) - dead_before
    assert sorted(rows) == ["m_edit", "m_gone", "m_nul", "m_twice"]
    assert (rows["m_edit"]["text"], rows["m_edit"]["edit_count"]) == ("ten please", 1)
    assert rows["m_gone"]["deleted"] is True and rows["m_gone"]["text"] is None
    assert rows["m_nul"]["text"] == "price list?"
    assert rows["m_twice"]["text"] == "is it in stock?"
    assert dead == 0


async def test_a_10000_item_delivery_is_split_into_messages_of_at_most_500_events(clean_db, service_env):
    page, customers, per_customer = "PB", 2000, 5
    # Compact (no text), to fit 10,000 items in the 1 MiB a delivery may have.
    items = [
        {
            "sender": {"id": f"c{c}"},
            "recipient": {"id": page},
            "timestamp": TS + n,
            "message": {"mid": f"m{c}.{n}"},
        }
        for c in range(customers)
        for n in range(per_customer)
    ]
    body = json.dumps(
        {"object": "page", "entry": [{"id": page, "time": TS, "messaging": items}]}, separators=(",", ":")
    ).encode()
    assert len(items) == 10_000 and len(body) <= 1024 * 1024
    sizes: list[int] = []
    topology = Topology(service_env["BROKER_NAMESPACE"])
    conn = await aio_pika.connect(service_env["AMQP_URL"])
    async with (
        conn,
        running(service_env, "webhook", "analyzer", "assigner", extra_env=NO_GRAPH) as stack,
        httpx.AsyncClient(
            base_url=stack.url, timeout=60, headers={"Authorization": f"Bearer {service_env['ADMIN_TOKEN']}"}
        ) as client,
    ):
        channel = await conn.channel()
        probe = await channel.declare_queue(exclusive=True, auto_delete=True)
        await probe.bind(await declare_topology(channel, topology), routing_key="conversation.updated.*")

        async def count(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                decoded = messages.decode(
                    ConversationUpdated, message.body, batch=bool((message.headers or {}).get("batch"))
                )
                if decoded[0].page_id == page:
                    sizes.append(len(decoded))

        await probe.consume(count)
        await _pipeline_page(client, page)
        r = await _deliver(client, stack.url, body, service_env["META_APP_SECRET"])
        assert r.status_code == 200
        placed = await _until(
            clean_db,
            "SELECT count(*) FROM contacts WHERE page_id = $1 AND stage_id IS NOT NULL",
            customers,
            page,
            timeout=180,
        )
        stored = await clean_db.fetchval("SELECT count(*) FROM messages WHERE page_id = $1", page)
    assert placed == customers, stack.logs()[-3000:]
    assert stored == 10_000
    assert sum(sizes) == customers and max(sizes) <= MAX_EVENTS_PER_MESSAGE and len(sizes) >= 4
