"""Conversations-list items and messages turned into what the backfill publishes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from leadsync.commands.jobs import format_eta
from services.backfill.walk import _drop_older
from shared import graph_parse as gp

OWN = {"PAGE", "IG"}


def message(mid: str, sender: str, at: str, text: str | None = "hi", **extra) -> dict[str, Any]:
    return {"id": mid, "created_time": at, "from": {"id": sender}, "message": text, **extra}


def item(conv_id="t_1", updated="2026-03-01T10:00:00+0000", people=None, messages=None) -> dict[str, Any]:
    return {
        "id": conv_id,
        "updated_time": updated,
        "participants": {
            "data": people
            if people is not None
            else [{"id": "PAGE", "name": "Shop"}, {"id": "U1", "name": "Ana Silva"}]
        },
        "messages": messages or {"data": []},
    }


def test_the_customer_is_the_participant_who_is_not_the_page():
    conv = gp.parse_conversation(item(), "messenger", OWN)
    assert not isinstance(conv, gp.Failure)
    assert (conv.contact_id, conv.contact_name) == ("U1", "Ana Silva")
    ig = gp.parse_conversation(
        item(people=[{"id": "IG"}, {"id": "U2", "username": "ana.s"}]), "instagram", OWN
    )
    assert not isinstance(ig, gp.Failure) and ig.contact_name == "ana.s"


def test_garbage_fails_one_thread_or_skips_one_message_never_crashes():
    assert isinstance(gp.parse_conversation(item(people=[{"id": "PAGE"}]), "messenger", OWN), gp.Failure)
    assert isinstance(gp.parse_conversation({"id": "t_x"}, "messenger", OWN), gp.Failure)
    bad_time = gp.parse_conversation(item(updated="yesterday"), "messenger", OWN)
    assert isinstance(bad_time, gp.Failure) and bad_time.contact_id == "U1"
    bad_message = item(
        messages={
            "data": [
                message("x" * 600, "U1", "2026-03-01T10:00:00+0000"),
                message("m_ok", "U1", "2026-03-01T10:00:00+0000"),
            ]
        }
    )
    kept = gp.parse_conversation(bad_message, "messenger", OWN)
    assert isinstance(kept, gp.Conversation) and [m.mid for m in kept.messages] == ["m_ok"]


def test_messages_come_oldest_first_with_the_page_side_marked():
    newest_first = [
        message("m_3", "PAGE", "2026-03-01T10:02:00+0000", "It's $49"),
        message(
            "m_2",
            "U1",
            "2026-03-01T10:01:00+0000",
            None,
            attachments={"data": [{"mime_type": "image/jpeg"}, {}]},
        ),
        message("m_1", "U1", "2026-03-01T10:00:00+0000", "How much?"),
        {"id": "m_broken"},
    ]
    out = gp.parse_messages(newest_first, OWN)
    assert [m.mid for m in out] == ["m_1", "m_2", "m_3"]
    assert [m.from_page for m in out] == [False, False, True]
    assert out[1].text is None and out[1].attachments == ["image", "file"]
    assert out[0].sent_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_paging_goes_on_only_while_meta_gives_a_next_link():
    assert gp.next_cursor({"paging": {"cursors": {"after": "A"}, "next": "https://g/?access_token=x"}}) == "A"
    assert gp.next_cursor({"paging": {"cursors": {"after": "A"}}}) is None
    assert gp.next_cursor({"data": []}) is None


def test_an_incremental_walk_stops_at_the_first_thread_not_newer_than_the_mark():
    convs = [
        gp.parse_conversation(
            item(f"t_{i}", f"2026-03-01T1{9 - i}:00:00+0000", people=[{"id": f"U{i}"}]), "messenger", OWN
        )
        for i in range(4)
    ]
    page = gp.ConversationPage([c for c in convs if not isinstance(c, gp.Failure)], "next")
    mark = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
    assert _drop_older(page, mark) is True
    assert [c.id for c in page.conversations] == ["t_0", "t_1"]
    newer = gp.ConversationPage(page.conversations[:], "next")
    assert _drop_older(newer, datetime(2026, 1, 1, tzinfo=UTC)) is False and len(newer.conversations) == 2


def test_eta_reads_like_a_duration():
    assert [format_eta(s) for s in (None, 0, 59.6, 61, 3725)] == ["-", "0s", "1m00s", "1m01s", "1h02m"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(["id", "updated_time", "participants", "messages"]), JSON))
def test_any_item_parses_to_a_conversation_or_a_failure(raw):
    assert isinstance(gp.parse_conversation(raw, "messenger", OWN), gp.Conversation | gp.Failure)


def test_a_next_link_without_cursors_still_continues_the_walk_without_the_token():
    body = {
        "paging": {
            "next": "https://graph.facebook.com/v25.0/P/conversations?access_token=SECRET"
            "&limit=50&after=QVFIUk"
        }
    }
    assert gp.next_cursor(body) == "QVFIUk"
    timed = {
        "paging": {
            "next": "https://g/v25.0/P/conversations?access_token=SECRET&until=1700000000"
            "&__paging_token=enc_AbC&limit=25"
        }
    }
    cursor = gp.next_cursor(timed)
    assert cursor is not None and "SECRET" not in cursor
    assert gp.cursor_params(cursor) == {"until": "1700000000", "__paging_token": "enc_AbC"}
    assert gp.cursor_params("QVFIUk") == {"after": "QVFIUk"}
    assert gp.cursor_params(None) == {}


def test_nul_characters_and_lone_surrogates_are_removed_from_graph_text_and_names():
    [msg] = gp.parse_messages([message("m_nul", "U1", "2026-03-01T10:00:00+0000", "pri\x00ce\ud83d?")], OWN)
    assert msg.text == "price?"
    conv = gp.parse_conversation(
        item("t_n", "2026-03-01T10:00:00+0000", people=[{"id": "U1", "name": "Ana\x00 M\udc00"}]),
        "messenger",
        OWN,
    )
    assert not isinstance(conv, gp.Failure) and conv.contact_name == "Ana M"
