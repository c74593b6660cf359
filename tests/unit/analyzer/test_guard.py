"""WON needs a page confirmation and LOST an explicit refusal, whatever a scorer said (DESIGN §7.6)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.analyzer.fallback import confirmation_mids
from services.analyzer.guard import CLAIM, NO_REFUSAL, guard
from shared.messages import Analysis, ChatMessage

T0 = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
CHAT = [
    ChatMessage(mid="c1", text="How much? I have not paid yet", sent_at=T0),
    ChatMessage(mid="p1", from_page=True, text="It is $20", sent_at=T0),
    ChatMessage(mid="c2", text="ok paid now", sent_at=T0),
    ChatMessage(mid="p2", from_page=True, text="Payment received, thank you!", sent_at=T0),
]


def verdict(status: str, score: int = 90, evidence: tuple[str, ...] = ()) -> Analysis:
    return Analysis(
        lead_score=score,
        lead_status=status,
        confidence=90,
        reasoning="the model's words",
        evidence=list(evidence),
    )


def reading(status: str, evidence: tuple[str, ...] = ()) -> Analysis:
    return Analysis(
        lead_score=5, lead_status=status, confidence=30, used_fallback=True, evidence=list(evidence)
    )


@pytest.mark.parametrize(
    ("analysis", "messages", "refusal", "status", "score", "signal"),
    [
        # The customer's own words never make a sale...
        (verdict("WON", 78, ("c1",)), CHAT[:1], None, "QUALIFIED", 78, CLAIM),
        (verdict("WON", 40, ("c2",)), CHAT[:3], None, "QUALIFIED", 72, CLAIM),  # a claim is hot...
        (verdict("WON", 95), CHAT[:3], None, "QUALIFIED", 80, CLAIM),  # ...but not in the Won band
        # ...the page's confirmation does.
        (verdict("WON", 95, ("c2", "p2")), CHAT, None, "WON", 95, None),
        # LOST stands when the deterministic reading finds the refusal too...
        (verdict("LOST", 10, ("c1",)), CHAT[:1], reading("LOST", ("c1",)), "LOST", 10, None),
        # ...and not otherwise ("please don't stop sending offers").
        (verdict("LOST", 10, ("c1",)), CHAT[:1], reading("CONTACTED"), "NEW", 10, NO_REFUSAL),
        (verdict("LOST", 10), CHAT[:2], reading("QUALIFIED"), "CONTACTED", 10, NO_REFUSAL),
        (verdict("LOST", 85), CHAT[:2], reading("NEW"), "QUALIFIED", 85, NO_REFUSAL),
        # The fallback's own LOST is its reading; other statuses pass untouched.
        (verdict("LOST", 3), CHAT[:1], None, "LOST", 3, None),
        (verdict("QUALIFIED", 64), CHAT, reading("LOST"), "QUALIFIED", 64, None),
    ],
)
def test_terminal_statuses_need_their_evidence(analysis, messages, refusal, status, score, signal):
    guarded = guard(analysis, messages, confirmations=confirmation_mids(messages), refusal=refusal)
    assert (guarded.lead_status, guarded.lead_score) == (status, score)
    added = [s.signal for s in guarded.signals]
    assert added == ([signal] if signal else [])
    if signal:
        assert guarded.reasoning.startswith("Not ") and guarded.reasoning.endswith("the model's words")


def test_the_claim_signal_cites_the_customers_messages_and_a_confirmation_joins_the_evidence():
    claimed = guard(verdict("WON", 90, ("c2", "p1")), CHAT[:3], confirmations=[])
    assert claimed.signals[0].mids == ["c2"]
    confirmed = guard(verdict("WON", 90, ("c2",)), CHAT, confirmations=["p2"])
    assert confirmed.lead_status == "WON" and confirmed.evidence == ["c2", "p2"]
    lost = guard(
        verdict("LOST", 5, ("c1",)), CHAT[:1], confirmations=[], refusal=reading("LOST", ("c1", "c9"))
    )
    assert lost.evidence == ["c1", "c9"]


def test_the_pages_confirmation_is_what_the_fallback_reads_as_one():
    assert confirmation_mids(CHAT) == ["p2"]  # not the price, not the customer's "paid"


statuses = st.sampled_from(["NEW", "CONTACTED", "QUALIFIED", "WON", "LOST"])


@st.composite
def transcripts(draw) -> list[ChatMessage]:
    sides = draw(st.lists(st.booleans(), min_size=1, max_size=6))
    return [ChatMessage(mid=f"m{i}", from_page=page, text="t", sent_at=T0) for i, page in enumerate(sides)]


@given(transcripts(), statuses, st.integers(1, 100), st.data())
def test_no_sale_without_a_page_confirmation(messages, status, score, data):
    cited = data.draw(st.lists(st.sampled_from([m.mid for m in messages]), max_size=4))
    page = [m.mid for m in messages if m.from_page]
    confirmed = data.draw(st.lists(st.sampled_from(page), max_size=2)) if page else []
    analysis = verdict(status, score, tuple(cited))
    guarded = guard(analysis, messages, confirmations=confirmed, refusal=reading(data.draw(statuses)))
    if guarded.lead_status == "WON":
        assert confirmed and set(confirmed) <= set(guarded.evidence)
    elif status == "WON":  # a claim: hot, below the Won band
        assert 72 <= guarded.lead_score <= 80
    assert 1 <= guarded.lead_score <= 100


@given(transcripts(), statuses, st.integers(1, 100), statuses)
def test_lost_only_when_the_reading_is_lost_too(messages, status, score, read):
    guarded = guard(verdict(status, score), messages, confirmations=[], refusal=reading(read))
    if guarded.lead_status == "LOST":
        assert read == "LOST"
    if status not in ("WON", "LOST"):
        assert guarded == verdict(status, score)
