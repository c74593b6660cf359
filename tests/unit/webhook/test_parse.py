"""Parsing Meta webhook bodies: every documented item shape, grouping, ids, and odd input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsync.sim.traffic import deliveries
from services.webhook.parse import group, parse
from shared.broker import Encoded
from shared.messages import ChatMessage, ConversationUpdated

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TS = 1764028800000
PAGE, USER, IG = "PAGE_1", "PSID_1", "IG_1"


def body(items, *, obj="page", account=PAGE, key="messaging"):
    return {"object": obj, "entry": [{"id": account, "time": TS, key: items}]}


def item(payload, *, sender=USER, recipient=PAGE, ts=TS):
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ts, **payload}


def updates(events: list[Encoded]) -> list[tuple[ConversationUpdated, str]]:
    """What a consumer decodes from each encoded update, with its message id."""
    return [(ConversationUpdated.model_validate_json(e.body), e.message_id) for e in events]


def only_message(b):
    parsed = parse(b, now=NOW)
    assert len(parsed.items) == 1, parsed.kinds
    return parsed.items[0], parsed


def test_text_message_is_a_customer_message_at_its_timestamp():
    it, parsed = only_message(body([item({"message": {"mid": "m_1", "text": "¿Cuánto cuesta?"}})]))
    assert (it.account_id, it.contact_id) == (PAGE, USER)
    assert it.message["text"] == "¿Cuánto cuesta?"
    assert it.message["from_page"] is False
    assert it.message["sent_at"] == datetime(2025, 11, 25, tzinfo=UTC)
    assert parsed.kinds == {"message": 1} and parsed.platform == "messenger"


def test_echo_is_a_page_message_whose_customer_is_the_recipient():
    echo = item(
        {"message": {"mid": "m_2", "is_echo": True, "app_id": 1, "text": "Hi!"}}, sender=PAGE, recipient=USER
    )
    it, parsed = only_message(body([echo]))
    assert it.contact_id == USER and it.message["from_page"] is True
    assert parsed.kinds == {"echo": 1}


@pytest.mark.parametrize(
    ("message", "text", "attachments"),
    [
        ({"attachments": [{"type": "image", "payload": {"url": "https://x/1.jpg"}}]}, None, ["image"]),
        (
            {"attachments": [{"type": "audio"}, {"type": "file"}, {"payload": {}}]},
            None,
            ["audio", "file", "file"],
        ),
        ({"text": "Red", "quick_reply": {"payload": "COLOR_RED"}}, "Red", []),
        (
            {"text": "love it", "reply_to": {"story": {"url": "https://x/s", "id": "1"}}},
            "love it",
            ["story_reply"],
        ),
        (
            {"text": "is this available?", "referral": {"ref": "ad", "source": "ADS", "ad_id": "9"}},
            "is this available?",
            ["ad_referral"],
        ),
        ({"text": "ok", "reply_to": {"mid": "m_0"}}, "ok", []),
        (
            {"attachments": [{"type": "story_mention", "payload": {"url": "https://x"}}]},
            None,
            ["story_mention"],
        ),
        ({"is_unsupported": True}, None, ["unsupported"]),
    ],
    ids=["image", "several", "quick_reply", "story_reply", "ad_referral", "reply", "mention", "unsupported"],
)
def test_message_variants(message, text, attachments):
    it, _ = only_message(body([item({"message": {"mid": "m_3", **message}})]))
    assert (it.message["text"], it.message["attachments"]) == (text, attachments)


def test_edit_carries_the_new_text_and_edit_count():
    edit = item({"message_edit": {"mid": "m_4", "text": "two please", "num_edit": 2}})
    it, parsed = only_message(body([edit]))
    assert (it.message["mid"], it.message["text"], it.message["edit_count"]) == ("m_4", "two please", 2)
    assert parsed.kinds == {"edit": 1}


def test_unsend_marks_the_message_deleted():
    it, parsed = only_message(
        body([item({"message": {"mid": "m_5", "is_deleted": True}})], obj="instagram", account=IG)
    )
    assert it.message["deleted"] is True and it.message["mid"] == "m_5"
    assert parsed.kinds == {"unsend": 1}


def test_page_unsending_its_own_message_marks_it_deleted_on_the_page_side():
    echo = item({"message": {"mid": "m_5e", "is_echo": True, "is_deleted": True}}, sender=IG, recipient=USER)
    it, parsed = only_message(body([echo], obj="instagram", account=IG))
    assert (it.contact_id, it.message["from_page"], it.message["deleted"]) == (USER, True, True)
    assert parsed.kinds == {"unsend": 1}


def test_postback_is_a_customer_message_with_its_title():
    pb = item({"postback": {"mid": "m_6", "title": "Get Started", "payload": "START"}})
    it, parsed = only_message(body([pb]))
    assert (it.message["text"], it.message["from_page"]) == ("Get Started", False)
    assert parsed.kinds == {"postback": 1}


def test_postback_without_mid_gets_a_stable_id():
    pb = item({"postback": {"title": "Get Started", "payload": "START"}})
    first, _ = only_message(body([pb]))
    again, _ = only_message(body([dict(pb)]))
    other, _ = only_message(body([{**pb, "timestamp": TS + 1}]))
    assert first.message["mid"] == again.message["mid"] != other.message["mid"]


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"read": {"watermark": TS}}, "read"),
        ({"read": {"mid": "m_1"}}, "read"),
        ({"delivery": {"mids": ["m_1"], "watermark": TS}}, "delivery"),
        ({"reaction": {"reaction": "love", "emoji": "❤", "action": "react", "mid": "m_1"}}, "reaction"),
        ({"optin": {"type": "notification_messages", "payload": "x"}}, "optin"),
        ({"referral": {"ref": "landing", "source": "SHORTLINK"}}, "referral"),
        ({"typing": "on"}, "other"),
    ],
)
def test_items_without_a_message_are_counted_not_published(payload, kind):
    parsed = parse(body([item(payload)]), now=NOW)
    assert parsed.items == [] and parsed.kinds == {kind: 1}


def test_delivery_without_timestamp_is_counted():
    parsed = parse(
        body([{"sender": {"id": USER}, "recipient": {"id": PAGE}, "delivery": {"watermark": TS}}]), now=NOW
    )
    assert parsed.kinds == {"delivery": 1}


def test_standby_items_are_read_like_messaging_items():
    parsed = parse(body([item({"message": {"mid": "m_7", "text": "hi"}})], key="standby"), now=NOW)
    assert [i.message["mid"] for i in parsed.items] == ["m_7"]


def test_missing_timestamp_uses_now():
    it, _ = only_message(
        body([{"sender": {"id": USER}, "recipient": {"id": PAGE}, "message": {"mid": "m_8", "text": "x"}}])
    )
    assert it.message["sent_at"] == NOW


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ([1, 2], "not_an_object"),
        ({"object": "page"}, "other_object"),
        ({"object": "user", "entry": []}, "other_object"),
        ({"object": "page", "entry": [{"id": PAGE, "time": TS, "changes": [{"field": "feed"}]}]}, "changes"),
        ({"object": "page", "entry": [{"time": TS, "messaging": []}]}, "bad_entry"),
        ({"object": "page", "entry": [{"id": PAGE, "messaging": [{"message": {"mid": "m"}}]}]}, "bad_item"),
        (
            {
                "object": "page",
                "entry": [{"id": PAGE, "messaging": [item({"message": {"mid": "m" * 600, "text": "x"}})]}],
            },
            "bad_item",
        ),
    ],
)
def test_other_shapes_are_counted(payload, kind):
    parsed = parse(payload, now=NOW)
    assert parsed.items == [] and parsed.kinds == {kind: 1}


def test_group_makes_one_update_per_conversation_in_arrival_order():
    items = [item({"message": {"mid": f"m_{i}", "text": str(i)}}, sender=f"U{i % 2}") for i in range(5)]
    items.append(
        item({"message": {"mid": "m_e", "is_echo": True, "text": "hi"}}, sender=PAGE, recipient="U0")
    )
    parsed = parse(body(items), now=NOW)
    events, unknown = group(parsed.items, platform="messenger")
    assert unknown == set()
    by_contact = {e.contact_id: [m.mid for m in e.messages] for e, _ in updates(events)}
    assert by_contact == {"U0": ["m_0", "m_2", "m_4", "m_e"], "U1": ["m_1", "m_3"]}
    assert all(e.page_id == PAGE and e.origin == "webhook" for e, _ in updates(events))
    assert {e.routing_key for e in events} == {"conversation.updated.messenger"}


def test_group_ids_are_deterministic_and_change_with_an_edit():
    msg = body([item({"message": {"mid": "m_1", "text": "a"}})])
    edit = body([item({"message_edit": {"mid": "m_1", "text": "b", "num_edit": 1}})])
    ids = [group(parse(b, now=NOW).items, platform="messenger")[0][0].message_id for b in (msg, msg, edit)]
    assert ids[0] == ids[1] != ids[2]


def test_group_maps_instagram_accounts_and_reports_unknown_ones():
    items = [
        {
            "id": acct,
            "time": TS,
            "messaging": [item({"message": {"mid": f"m_{acct}", "text": "x"}}, recipient=acct)],
        }
        for acct in ("IG_KNOWN", "IG_UNKNOWN")
    ]
    parsed = parse({"object": "instagram", "entry": items}, now=NOW)
    events, unknown = group(parsed.items, platform="instagram", pages={"IG_KNOWN": "PAGE_9"})
    assert [(e.page_id, e.platform) for e, _ in updates(events)] == [("PAGE_9", "instagram")]
    assert unknown == {"IG_UNKNOWN"}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "object",
                    "entry",
                    "id",
                    "messaging",
                    "standby",
                    "message",
                    "mid",
                    "text",
                    "sender",
                    "recipient",
                    "timestamp",
                    "is_echo",
                    "attachments",
                    "type",
                    "message_edit",
                    "num_edit",
                    "postback",
                    "title",
                    "read",
                    "is_deleted",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"object": st.sampled_from(["page", "instagram"]), "entry": st.lists(json_values, max_size=3)}
        ),
    )
)
def test_parse_never_raises_and_every_item_is_counted(payload):
    payload = orjson.loads(json.dumps(payload))  # what the endpoint would see
    parsed = parse(payload, now=NOW)
    published_kinds = {"message", "echo", "edit", "unsend", "postback"}
    assert sum(n for k, n in parsed.kinds.items() if k in published_kinds) == len(parsed.items)
    events, _ = group(
        parsed.items, platform=parsed.platform or "messenger", pages={i.account_id: "P" for i in parsed.items}
    )
    assert sum(len(e.messages) for e, _ in updates(events)) == len(parsed.items)
    for event in events:  # the JSON is the contract model's, byte for byte
        assert ConversationUpdated.model_validate_json(event.body).model_dump_json().encode() == event.body


def _grouped(items):
    parsed = parse(body(items), now=NOW)
    events, _ = group(parsed.items, platform="messenger")
    return updates(events)


def test_a_mid_repeated_in_two_entries_becomes_one_message():
    msg = item({"message": {"mid": "m_dup", "text": "hola"}})
    b = {
        "object": "page",
        "entry": [
            {"id": PAGE, "time": TS, "messaging": [msg]},
            {"id": PAGE, "time": TS, "messaging": [msg, item({"message": {"mid": "m_other", "text": "x"}})]},
        ],
    }
    parsed = parse(b, now=NOW)
    [(event, _)] = updates(group(parsed.items, platform="messenger")[0])
    assert [m.mid for m in event.messages] == ["m_dup", "m_other"]


def test_a_message_and_its_edit_in_one_body_keep_the_edit_sent_when_the_message_was():
    events = _grouped(
        [
            item({"message_edit": {"mid": "m_e", "text": "ten, not two", "num_edit": 1}}, ts=TS + 5000),
            item({"message": {"mid": "m_e", "text": "two please"}}),
        ]
    )
    [(event, _)] = events
    [m] = event.messages
    assert (m.text, m.edit_count, m.deleted) == ("ten, not two", 1, False)
    assert m.sent_at == datetime.fromtimestamp(TS / 1000, tz=UTC)


def test_a_message_and_its_unsend_in_one_body_leave_only_the_unsend():
    events = _grouped(
        [
            item({"message": {"mid": "m_u", "text": "my number is 555"}}),
            item({"message_edit": {"mid": "m_u", "text": "edited", "num_edit": 3}}, ts=TS + 1000),
            item({"message": {"mid": "m_u", "is_deleted": True}}, ts=TS + 2000),
            item({"message": {"mid": "m_keep", "text": "still here"}}, ts=TS + 3000),
        ]
    )
    [(event, _)] = events
    assert [(m.mid, m.deleted, m.text) for m in event.messages] == [
        ("m_u", True, None),
        ("m_keep", False, "still here"),
    ]


def test_nul_characters_and_lone_surrogates_are_stripped_from_text_ids_and_attachments():
    raw = (
        b'{"object":"page","entry":[{"id":"PAGE_1","time":1,"messaging":[{"sender":{"id":"PSID\\u0000_1"},'
        b'"recipient":{"id":"PAGE_1"},"timestamp":1764028800000,"message":{"mid":"m_\\u0000n",'
        b'"text":"price\\u0000 \\ud83d?","attachments":[{"type":"ima\\u0000ge"}]}}]}]}'
    )
    payload = json.loads(raw)
    it, _ = only_message(payload)
    assert (it.contact_id, it.message["mid"], it.message["text"]) == ("PSID_1", "m_n", "price ?")
    assert it.message["attachments"] == ["image"]
    ChatMessage(**it.message).model_dump_json()  # a valid message: nothing Postgres or UTF-8 refuses


def test_simulated_traffic_is_encoded_exactly_as_the_models_encode_it():
    """Every shape the simulator sends (echoes, attachments, story replies, edits, unsends, both
    platforms, timestamps with milliseconds) goes on the wire as the contract model's JSON."""
    checked, kinds = 0, set[str]()
    for delivery in deliveries(400, platform="both", start_ms=TS + 123, seed=7):
        parsed = parse(orjson.loads(delivery.body), now=NOW)
        kinds |= parsed.kinds.keys()
        pages = {i.account_id: "PAGE_IG" for i in parsed.items}
        events, _ = group(parsed.items, platform=parsed.platform or "messenger", pages=pages)
        for event in events:
            assert (
                ConversationUpdated.model_validate_json(event.body).model_dump_json().encode() == event.body
            )
            checked += 1
    assert checked >= 200 and {"message", "echo"} <= kinds


def test_a_repeated_mid_is_collapsed_into_the_models_json_too():
    [(event, _)] = _grouped(
        [
            item({"message": {"mid": "m_r", "text": "one"}}, ts=TS + 7),
            item({"message_edit": {"mid": "m_r", "text": "two", "num_edit": 2}}, ts=TS + 9),
        ]
    )
    [encoded], _ = group(
        parse(body([item({"message": {"mid": "m_r", "text": "x"}})] * 2), now=NOW).items, platform="messenger"
    )
    assert ConversationUpdated.model_validate_json(encoded.body).model_dump_json().encode() == encoded.body
    assert [(m.text, m.edit_count) for m in event.messages] == [("two", 2)]


@pytest.mark.parametrize(
    ("entry_id", "sender", "kind"),
    [("\x00", USER, "bad_entry"), (PAGE, "\x00", "bad_item"), ("", USER, "bad_entry")],
)
def test_an_id_that_is_empty_once_cleaned_is_refused_not_published(entry_id, sender, kind):
    # Published, it would fail the contract (ids are non-empty) at the consumer on every retry.
    parsed = parse(
        body([item({"message": {"mid": "m_1", "text": "x"}}, sender=sender)], account=entry_id), now=NOW
    )
    assert parsed.items == [] and parsed.kinds == {kind: 1}


@pytest.mark.parametrize(("num_edit", "edit_count"), [(True, 1), (0, 1), (2**40, 2**31 - 1), ("3", 1)])
def test_edit_counts_are_integers_postgres_can_hold(num_edit, edit_count):
    it, _ = only_message(body([item({"message_edit": {"mid": "m_1", "text": "b", "num_edit": num_edit}})]))
    assert it.message["edit_count"] == edit_count and type(it.message["edit_count"]) is int
