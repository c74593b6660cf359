"""POST /webhooks/meta over the real broker: what is refused, what is published, and how."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY

from leadsync.sim.traffic import envelope, message_item, meta_json
from services.webhook.signature import sign
from tests.support.meta_events import page_entry
from tests.support.webhook import (
    SECRETS,
    VERIFY_TOKEN,
    Probe,
    metrics_text,
    probe,
    webhook_client,
    webhook_settings,
)

TS = 1764028800000
PAGE, USER = "PAGE_W1", "PSID_W1"


@pytest.fixture
async def watch(amqp_url, namespace) -> AsyncIterator[Probe]:
    async with probe(amqp_url, namespace) as p:
        yield p


@pytest.fixture
async def client(
    database_url, amqp_url, namespace, publisher, pool, watch
) -> AsyncIterator[httpx.AsyncClient]:
    settings = webhook_settings(database_url, amqp_url, namespace)
    async with webhook_client(settings, publisher, pool) as c:
        yield c


async def post(client: httpx.AsyncClient, body: bytes, secret: bytes | None = SECRETS[0], **headers):
    if secret is not None:
        headers.setdefault("X-Hub-Signature-256", sign(body, secret))
    return await client.post("/webhooks/meta", content=body, headers=headers)


def messenger(*items, page=PAGE) -> bytes:
    return envelope("messenger", page, list(items), TS)


def text_item(mid: str, text: str = "hi", *, user=USER, page=PAGE, **extra):
    return message_item(page, user, mid, TS, text=text, **extra)


async def test_handshake_echoes_the_challenge_only_for_the_right_token(client):
    ok = await client.get(
        "/webhooks/meta",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert ok.headers["content-type"].startswith("text/plain")
    bad = await client.get(
        "/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
    )
    assert bad.status_code == 403


BODY = messenger(text_item("m_reject", "hello"))


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"X-Hub-Signature-256": sign(BODY, b"some-other-secret")}, 401),
        ({"X-Hub-Signature": "sha1=" + hmac.new(SECRETS[0], BODY, hashlib.sha1).hexdigest()}, 401),
        ({"X-Hub-Signature-256": "sha256=not-hex-at-all"}, 401),
        ({"X-Hub-Signature-256": sign(BODY, SECRETS[0])[:-2]}, 401),
        ({"X-Hub-Signature-256": sign(BODY, SECRETS[0]).replace("sha256=", "")}, 401),
    ],
    ids=["unsigned", "wrong_secret", "sha1_only", "not_hex", "truncated", "no_prefix"],
)
async def test_unverified_deliveries_are_refused_and_publish_nothing(client, watch, headers, status):
    r = await post(client, BODY, secret=None, **headers)
    assert r.status_code == status
    assert await watch.drain() == []


async def test_either_configured_secret_is_accepted(client, watch):
    body = messenger(text_item("m_ig_secret"))
    assert (await post(client, body, secret=SECRETS[1])).status_code == 200
    assert [m.mid for u in await watch.updates() for m in u.messages] == ["m_ig_secret"]


async def test_a_body_over_one_mib_is_refused_without_being_read_whole(client, watch):
    chunk = b" " * 65536
    sent = 0

    async def stream():
        nonlocal sent
        for _ in range(64):  # 4 MiB, no Content-Length: only the stream tells the size
            sent += 1
            yield chunk

    r = await client.post(
        "/webhooks/meta", content=stream(), headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
    )
    assert r.status_code == 413
    assert sent <= 17  # stopped just past 1 MiB
    declared = await client.post(
        "/webhooks/meta", content=b"{}", headers={"Content-Length": str(5 * 1024 * 1024)}
    )
    assert declared.status_code == 413
    assert await watch.drain() == []


async def test_signed_non_json_is_a_bad_request(client, watch):
    for body in (b"not json", b"", b'{"object": "page", "entry": [', "{}".encode("utf-16")):
        assert (await post(client, body)).status_code == 400
    assert await watch.drain() == []


@pytest.mark.parametrize(
    "payload",
    [
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE,
                    "time": TS,
                    "changes": [{"field": "feed", "value": {"item": "comment", "verb": "add"}}],
                }
            ],
        },
        # The App Dashboard's "Test" button for the Instagram messages field.
        {
            "object": "instagram",
            "entry": [
                {
                    "id": "0",
                    "time": TS,
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "sender": {"id": "12334"},
                                "recipient": {"id": "23245"},
                                "timestamp": "1527459824",
                                "message": {"mid": "random_mid", "text": "random_text"},
                            },
                        }
                    ],
                }
            ],
        },
        {"object": "user", "entry": [{"uid": "1", "changed_fields": ["email"]}]},
        {"field": "messages", "value": {}},
        [1, 2, 3],
        page_entry(
            PAGE,
            TS,
            {"sender": {"id": USER}, "recipient": {"id": PAGE}, "timestamp": TS, "read": {"watermark": TS}},
            {
                "sender": {"id": USER},
                "recipient": {"id": PAGE},
                "delivery": {"mids": ["m_x"], "watermark": TS},
            },
            {
                "sender": {"id": USER},
                "recipient": {"id": PAGE},
                "timestamp": TS,
                "reaction": {"reaction": "love", "emoji": "\u2764", "action": "react", "mid": "m_x"},
            },
        ),
    ],
    ids=["feed_changes", "dashboard_test", "other_object", "no_object", "list", "receipts_only"],
)
async def test_signed_bodies_we_do_not_use_are_acknowledged_and_publish_nothing(client, watch, payload):
    r = await post(client, meta_json(payload))
    assert r.status_code == 200
    assert await watch.drain() == []


async def test_fifty_items_in_two_entries_publish_fifty_messages(client, watch):
    entries = [
        {
            "id": page,
            "time": TS,
            "messaging": [
                text_item(f"m_batch_{page}_{i}", f"msg {i}", user=f"U{i % 7}", page=page) for i in range(25)
            ],
        }
        for page in ("PAGE_A", "PAGE_B")
    ]
    r = await post(client, meta_json({"object": "page", "entry": entries}))
    assert r.status_code == 200
    updates = await watch.updates()
    mids = sorted(m.mid for u in updates for m in u.messages)
    assert len(mids) == 50 and len(set(mids)) == 50
    # Grouped per conversation: 2 pages x 7 customers, not 50 separate messages.
    assert len(updates) == 14
    assert {(u.page_id, u.contact_id) for u in updates} == {
        (p, f"U{i}") for p in ("PAGE_A", "PAGE_B") for i in range(7)
    }
    metrics = metrics_text()
    for name in (
        'leadsync_webhook_events_total{kind="message",platform="messenger"}',
        'leadsync_webhook_request_seconds_count{status="200"}',
        "leadsync_webhook_publish_seconds_count",
        "leadsync_webhook_batch_items_count",
    ):
        assert name in metrics


async def test_messenger_shapes_meta_documents(client, watch):
    body = meta_json(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE,
                    "time": TS,
                    "messaging": [
                        text_item("m_text", "Do you ship to Cebu?", quick_reply={"payload": "SHIP"}),
                        message_item(
                            PAGE,
                            USER,
                            "m_photo",
                            TS + 1,
                            attachments=[{"type": "image", "payload": {"url": "https://x/p.jpg"}}],
                        ),
                        message_item(PAGE, USER, "m_echo", TS + 2, text="Yes we do!", echo=True, app_id=1),
                        {
                            "sender": {"id": USER},
                            "recipient": {"id": PAGE},
                            "timestamp": TS + 3,
                            "postback": {"mid": "m_pb", "title": "Get Started", "payload": "GET_STARTED"},
                        },
                        {
                            "sender": {"id": USER},
                            "recipient": {"id": PAGE},
                            "timestamp": TS + 4,
                            "message_edit": {"mid": "m_text", "text": "Do you ship to Davao?", "num_edit": 1},
                        },
                        {
                            "sender": {"id": USER},
                            "recipient": {"id": PAGE},
                            "delivery": {"mids": ["m_echo"], "watermark": TS + 5},
                        },
                        {
                            "sender": {"id": USER},
                            "recipient": {"id": PAGE},
                            "timestamp": TS + 6,
                            "read": {"watermark": TS + 6},
                        },
                    ],
                },
                {"id": PAGE, "time": TS, "standby": [text_item("m_standby", "still there?", user="PSID_SB")]},
            ],
        }
    )
    assert (await post(client, body)).status_code == 200
    updates = {u.contact_id: u for u in await watch.updates()}
    assert set(updates) == {USER, "PSID_SB"}
    got = [(m.mid, m.from_page, m.text, m.attachments, m.edit_count) for m in updates[USER].messages]
    # The edit of m_text in the same body is collapsed into it: one message, its newest version.
    assert got == [
        ("m_text", False, "Do you ship to Davao?", [], 1),
        ("m_photo", False, None, ["image"], 0),
        ("m_echo", True, "Yes we do!", [], 0),
        ("m_pb", False, "Get Started", [], 0),
    ]
    assert [m.mid for m in updates["PSID_SB"].messages] == ["m_standby"]
    assert all(u.platform == "messenger" and u.page_id == PAGE for u in updates.values())


async def test_instagram_shapes_map_the_account_to_its_page(client, watch, clean_db):
    await clean_db.execute(
        "INSERT INTO pages (id, name, instagram_account_id) VALUES ('PAGE_IG', 'Shop', 'IG_ACCT')"
    )
    igsid = "17841400000000001"
    body = meta_json(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": "IG_ACCT",
                    "time": TS,
                    "messaging": [
                        message_item(
                            "IG_ACCT",
                            igsid,
                            "aWdf_story",
                            TS,
                            text="Love this!",
                            reply_to={"story": {"url": "https://lookaside.fbsbx.com/s/1", "id": "1790"}},
                        ),
                        message_item(
                            "IG_ACCT",
                            igsid,
                            "aWdf_reel",
                            TS + 1,
                            attachments=[{"type": "ig_reel", "payload": {"reel_video_id": "1"}}],
                        ),
                        message_item("IG_ACCT", igsid, "aWdf_echo", TS + 2, text="Thank you 💛", echo=True),
                        {
                            "sender": {"id": igsid},
                            "recipient": {"id": "IG_ACCT"},
                            "timestamp": TS + 3,
                            "read": {"mid": "aWdf_echo"},
                        },
                        {
                            "sender": {"id": igsid},
                            "recipient": {"id": "IG_ACCT"},
                            "timestamp": TS + 4,
                            "message": {"mid": "aWdf_story", "is_deleted": True},
                        },
                    ],
                }
            ],
        }
    )
    assert (await post(client, body)).status_code == 200
    [update] = await watch.updates()
    assert (update.page_id, update.platform, update.contact_id) == ("PAGE_IG", "instagram", igsid)
    got = [(m.mid, m.from_page, m.text, m.attachments, m.deleted) for m in update.messages]
    # The unsend of aWdf_story in the same body wins: one message, deleted.
    assert got == [
        ("aWdf_story", False, None, [], True),
        ("aWdf_reel", False, None, ["ig_reel"], False),
        ("aWdf_echo", True, "Thank you 💛", [], False),
    ]


async def test_unknown_instagram_account_is_acknowledged_and_publishes_nothing(client, watch, clean_db):
    body = meta_json(
        {
            "object": "instagram",
            "entry": [
                {
                    "id": "IG_NOBODY",
                    "time": TS,
                    "messaging": [message_item("IG_NOBODY", "178400001", "aWdf_lost", TS, text="hello?")],
                }
            ],
        }
    )
    for _ in range(2):
        assert (await post(client, body)).status_code == 200
    assert await watch.drain() == []
    metrics = metrics_text()
    assert 'leadsync_webhook_events_total{kind="unknown_account",platform="instagram"}' in metrics


async def test_non_ascii_text_verifies_on_the_raw_bytes_and_arrives_intact(client, watch):
    text = "¿Cuánto cuesta? Envío a São Paulo 😊 → https://shop.example/p/1"
    body = messenger(text_item("m_unicode", text))
    assert body.isascii() and b"\\u00bf" in body and b"\\ud83d\\ude0a" in body and b"\\/" in body
    assert json.loads(body)["entry"][0]["messaging"][0]["message"]["text"] == text
    assert (await post(client, body)).status_code == 200
    [update] = await watch.updates()
    assert update.messages[0].text == text


async def test_a_repeated_delivery_gets_the_same_message_id(client, watch):
    body = messenger(text_item("m_dup_1"), text_item("m_dup_2"))
    for _ in range(2):
        assert (await post(client, body)).status_code == 200
    ids = [m.message_id for m in await watch.drain()]
    assert len(ids) == 2 and ids[0] == ids[1]


async def test_concurrent_requests_are_all_confirmed(client, watch):
    bodies = [messenger(text_item(f"m_conc_{i}", user=f"U_conc_{i}")) for i in range(40)]
    statuses = await asyncio.gather(*(post(client, b) for b in bodies))
    assert {r.status_code for r in statuses} == {200}
    mids = sorted(m.mid for u in await watch.updates() for m in u.messages)
    assert mids == sorted(f"m_conc_{i}" for i in range(40))


async def test_a_signed_body_with_a_lone_surrogate_escape_is_accepted_and_cleaned(client, watch):
    # Valid JSON that orjson refuses: a customer's text cut in the middle of an emoji.
    body = (
        b'{"object":"page","entry":[{"id":"' + PAGE.encode() + b'","time":1,"messaging":[{"sender":'
        b'{"id":"'
        + USER.encode()
        + b'"},"recipient":{"id":"'
        + PAGE.encode()
        + b'"},"timestamp":'
        + str(TS).encode()
        + b',"message":{"mid":"m_half","text":"nice \\ud83d"}}]}]}'
    )
    assert (await post(client, body)).status_code == 200
    [update] = await watch.updates()
    assert [(m.mid, m.text) for m in update.messages] == [("m_half", "nice ")]


async def test_ids_that_are_only_nul_characters_are_counted_and_the_rest_is_published(client, watch):
    # Empty once cleaned, such an id cannot go on the wire (the contract wants non-empty ids);
    # the delivery is acknowledged (not refused on every retry) and its good item published.
    body = (
        b'{"object":"page","entry":['
        b'{"id":"\\u0000","time":1,"messaging":[{"sender":{"id":"U_1"},"recipient":{"id":"P_1"},'
        b'"timestamp":1764028800000,"message":{"mid":"m_nul_entry","text":"a"}}]},'
        b'{"id":"' + PAGE.encode() + b'","time":1,"messaging":['
        b'{"sender":{"id":"\\u0000"},"recipient":{"id":"' + PAGE.encode() + b'"},'
        b'"timestamp":1764028800000,"message":{"mid":"m_nul_sender","text":"b"}},'
        b'{"sender":{"id":"' + USER.encode() + b'"},"recipient":{"id":"' + PAGE.encode() + b'"},'
        b'"timestamp":1764028800000,"message":{"mid":"m_good","text":"c"}}]}]}'
    )
    kinds = ("bad_entry", "bad_item", "message")
    before = [events_counted(kind) for kind in kinds]
    assert (await post(client, body)).status_code == 200
    [update] = await watch.updates()
    assert (update.page_id, update.contact_id, [m.mid for m in update.messages]) == (PAGE, USER, ["m_good"])
    assert [events_counted(kind) - n for kind, n in zip(kinds, before, strict=True)] == [1, 1, 1]


def events_counted(kind: str) -> float:
    labels = {"platform": "messenger", "kind": kind}
    return REGISTRY.get_sample_value("leadsync_webhook_events_total", labels) or 0.0
