"""Loading a transcript within a token budget keeps the newest messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.analyzer.transcript import fit, message_tokens
from shared.messages import ChatMessage

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def messages(texts: list[str]) -> list[ChatMessage]:
    return [ChatMessage(mid=f"m{i}", text=t, sent_at=T0 + timedelta(minutes=i)) for i, t in enumerate(texts)]


def test_oldest_messages_are_dropped_first():
    ms = messages(["a" * 400, "b" * 40, "c" * 40])
    kept = fit(ms, budget=message_tokens(ms[1]) + message_tokens(ms[2]))
    assert [m.mid for m in kept] == ["m1", "m2"]


def test_the_newest_message_is_kept_even_when_alone_it_is_over_budget():
    assert [m.mid for m in fit(messages(["x" * 10_000]), budget=50)] == ["m0"]


@given(st.lists(st.text(max_size=300), max_size=30), st.integers(min_value=50, max_value=2000))
def test_fit_keeps_a_newest_suffix_within_budget(texts, budget):
    ms = messages(texts)
    kept = fit(ms, budget)
    assert kept == ms[len(ms) - len(kept) :]
    if len(kept) > 1:
        assert sum(message_tokens(m) for m in kept) <= budget
    if ms:
        assert kept
