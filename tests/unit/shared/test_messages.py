"""The wire contract: codecs round-trip, batches decode, bad bodies are refused clearly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import DecodeError
from shared.messages import (
    ChatMessage,
    ConversationUpdated,
    decode,
    encode,
    message_id,
)


def event(mid: str = "m_1", text: str = "hola ¿precio?") -> ConversationUpdated:
    return ConversationUpdated(
        page_id="p",
        platform="messenger",
        contact_id="u",
        messages=[ChatMessage(mid=mid, text=text, sent_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))],
    )


def test_single_and_batch_bodies_round_trip():
    one = event()
    assert decode(ConversationUpdated, encode(one)) == [one]
    many = [event("m_1"), event("m_2")]
    assert decode(ConversationUpdated, encode(many), batch=True) == many


def test_timestamps_are_normalised_to_utc():
    local = datetime(2026, 1, 2, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    msg = ChatMessage(mid="m", sent_at=local)
    assert msg.sent_at == datetime(2026, 1, 2, 2, 0, tzinfo=UTC)
    assert msg.sent_at.tzinfo == UTC


def test_message_id_is_deterministic_and_content_sensitive():
    assert message_id(event()) == message_id(event())
    assert message_id(event()) != message_id(event(text="other"))


@pytest.mark.parametrize(
    ("body", "version", "reason"),
    [
        (b"{not json", 1, "not JSON"),
        (b'{"page_id": "p"}', 1, "not a valid ConversationUpdated"),
        (encode(event()), 2, "newer than this service understands"),
    ],
)
def test_bad_bodies_raise_decode_error_saying_why(body, version, reason):
    with pytest.raises(DecodeError, match=reason):
        decode(ConversationUpdated, body, version=version)


@given(
    st.lists(
        st.tuples(st.sampled_from(["m1", "m2", "m3"]), st.booleans(), st.integers(0, 3), st.integers(0, 10)),
        max_size=12,
    )
)
def test_newest_per_mid_keeps_one_newest_version_of_each_mid_in_first_arrival_order(versions):
    from shared.messages import ChatMessage, newest_per_mid

    base = datetime(2026, 1, 1, tzinfo=UTC)
    msgs = [
        ChatMessage(
            mid=mid,
            deleted=deleted,
            edit_count=edits,
            text=f"{mid}-{edits}-{t}",
            sent_at=base + timedelta(seconds=t),
        )
        for mid, deleted, edits, t in versions
    ]
    out = newest_per_mid(msgs)
    assert [m.mid for m in out] == list(dict.fromkeys(m.mid for m in msgs))
    for kept in out:
        same = [m for m in msgs if m.mid == kept.mid]
        newest = max(same, key=lambda m: (m.deleted, m.edit_count, m.sent_at))
        assert (kept.deleted, kept.edit_count, kept.text) == (newest.deleted, newest.edit_count, newest.text)
        assert kept.sent_at == min(m.sent_at for m in same)
