"""Random bodies and headers against the real endpoint: never a 5xx, never a publish unsigned."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadsync.sim.traffic import deliveries, meta_json
from services.webhook.signature import sign
from tests.support.webhook import SECRETS, probe, webhook_client, webhook_settings

KEYS = [
    "object",
    "entry",
    "id",
    "time",
    "messaging",
    "standby",
    "changes",
    "sender",
    "recipient",
    "timestamp",
    "message",
    "mid",
    "text",
    "is_echo",
    "attachments",
    "type",
    "payload",
    "message_edit",
    "num_edit",
    "postback",
    "title",
    "read",
    "delivery",
    "reply_to",
    "story",
    "is_deleted",
    "referral",
    "watermark",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["page", "instagram", "PAGE_P", "U1", "m_1"])
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=6)
    ),
    max_leaves=40,
)
webhookish = st.builds(
    lambda obj, entries: {"object": obj, "entry": entries},
    st.sampled_from(["page", "instagram", "user"]),
    st.lists(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4), max_size=3),
)
SIMULATED = [d.body for d in deliveries(20, platform="both", start_ms=1764028800000)]
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    webhookish.map(meta_json),
    st.sampled_from(SIMULATED),
)
SIGNATURES = ["valid", "valid_second", "other_body", "random", "missing", "sha1"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=bodies,
    how=st.sampled_from(SIGNATURES),
    noise=st.binary(max_size=70),
    content_type=st.sampled_from([b"application/json", b"text/plain", b"", "\xe9".encode("latin-1")]),
)
async def test_never_a_5xx_and_never_a_publish_without_a_valid_signature(
    database_url, amqp_url, namespace, publisher, pool, body, how, noise, content_type
):
    headers: dict[bytes, bytes] = {b"content-type": content_type} if content_type else {}
    signed = how in ("valid", "valid_second")
    if signed:
        headers[b"x-hub-signature-256"] = sign(body, SECRETS[how == "valid_second"]).encode()
    elif how == "other_body":
        headers[b"x-hub-signature-256"] = sign(body + b" ", SECRETS[0]).encode()
    elif how == "random":
        headers[b"x-hub-signature-256"] = bytes(b for b in noise if b not in b"\r\n\x00")
    elif how == "sha1":
        headers[b"x-hub-signature"] = b"sha1=" + noise.hex().encode()[:40]
    settings_ = webhook_settings(database_url, amqp_url, namespace)
    async with probe(amqp_url, namespace) as watch, webhook_client(settings_, publisher, pool) as client:
        r = await client.post("/webhooks/meta", content=body, headers=headers)
        published = await watch.drain()
    assert r.status_code < 500, r.text
    if not signed:
        assert r.status_code == 401
        assert published == []
    elif published:
        assert r.status_code == 200
