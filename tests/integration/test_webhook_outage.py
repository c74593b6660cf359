"""Broker or database unreachable: the webhook answers 503 (Meta retries), later the same delivery 200."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from leadsync.sim.traffic import envelope, message_item
from services.webhook.signature import sign
from shared import db
from shared.broker import Publisher, Topology
from tests.support.stack import free_port
from tests.support.webhook import (
    SECRETS,
    TcpProxy,
    metrics_text,
    probe,
    webhook_client,
    webhook_settings,
)

TS = 1764028800000


def via(amqp_url: str, port: int) -> str:
    parts = urlsplit(amqp_url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


async def test_broker_down_gives_503_and_the_same_request_succeeds_once_it_is_back(
    database_url, amqp_url, namespace, pool
):
    target = urlsplit(amqp_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    await proxy.open()
    publisher = Publisher(via(amqp_url, proxy.port), Topology(namespace), timeout=2)
    settings = webhook_settings(database_url, amqp_url, namespace)
    body = envelope(
        "messenger",
        "PAGE_OUT",
        [message_item("PAGE_OUT", "PSID_OUT", "m_outage", TS, text="still there?")],
        TS,
    )
    headers = {"X-Hub-Signature-256": sign(body, SECRETS[0])}
    async with probe(amqp_url, namespace) as watch, webhook_client(settings, publisher, pool) as client:

        async def deliver() -> int:
            return (await client.post("/webhooks/meta", content=body, headers=headers)).status_code

        assert await deliver() == 200
        assert len(await watch.updates()) == 1

        await proxy.cut()
        assert await deliver() == 503
        assert await deliver() == 503  # reconnecting fails fast while it is still down
        assert (await client.get("/readyz")).json()["broker"] == "unreachable"
        assert await watch.drain() == []

        await proxy.open()
        assert await deliver() == 200
        [update] = await watch.updates()
        assert [m.mid for m in update.messages] == ["m_outage"]
        metrics = metrics_text()
        assert 'leadsync_webhook_rejected_total{reason="broker_unavailable"}' in metrics
    await publisher.close()
    await proxy.cut()


async def test_instagram_delivery_while_the_database_is_down_gets_503(amqp_url, namespace, publisher):
    closed = free_port()  # nothing listens there: the account lookup cannot be answered
    pool = await db.create_pool(f"postgresql://postgres@127.0.0.1:{closed}/none", min_size=0)
    settings = webhook_settings(f"postgresql://postgres@127.0.0.1:{closed}/none", amqp_url, namespace)
    body = envelope(
        "instagram", "IG_DBDOWN", [message_item("IG_DBDOWN", "17840001", "aWdf_dbdown", TS, text="hola")], TS
    )
    async with probe(amqp_url, namespace) as watch, webhook_client(settings, publisher, pool) as client:
        r = await client.post(
            "/webhooks/meta", content=body, headers={"X-Hub-Signature-256": sign(body, SECRETS[0])}
        )
        assert r.status_code == 503
        assert await watch.drain() == []
    await pool.close()
