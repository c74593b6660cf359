"""The fallback scorer: each signal moves the score the documented way; deterministic; never 0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.analyzer import fallback
from services.analyzer.prompt import Stage
from shared.messages import ChatMessage

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def chat(*lines: str | tuple[bool, str], age: timedelta = timedelta(hours=1)) -> list[ChatMessage]:
    """Messages one minute apart, the last one `age` before NOW; a tuple is (from_page, text)."""
    out = []
    for i, line in enumerate(lines):
        from_page, text = line if isinstance(line, tuple) else (False, line)
        sent = NOW - age - timedelta(minutes=len(lines) - 1 - i)
        out.append(ChatMessage(mid=f"m{i}", from_page=from_page, text=text, sent_at=sent))
    return out


def points(messages: list[ChatMessage]) -> int:
    return fallback.score(messages, now=NOW).lead_score


BASELINE = ["hello there"]

# (signal, transcript with it, expected change against BASELINE's score)
BEHAVIOUR = [
    ("one more customer message", ["hello there", "still here"], +fallback.PER_MESSAGE),
    ("a question", ["hello there?"], +fallback.PER_QUESTION),
    ("buying intent (en)", ["hello there, price"], +fallback.PER_INTENT),
    ("buying intent (es)", ["hola, precio"], +fallback.PER_INTENT),
    ("buying intent (pt)", ["olá, encomenda"], +fallback.PER_INTENT),
    ("buying intent (fr)", ["bonjour, livraison"], +fallback.PER_INTENT),
    ("buying intent (tl)", ["hello po, magkano"], +fallback.PER_INTENT),
    ("buying intent (id)", ["halo kak, ongkir"], +fallback.PER_INTENT),
    ("a phone number", ["hello there +63 917 555 0142"], +fallback.CONTACT_DETAILS),
    ("an email", ["hello there ana@example.com"], +fallback.CONTACT_DETAILS),
]


@pytest.mark.parametrize(("signal", "lines", "delta"), BEHAVIOUR, ids=[b[0] for b in BEHAVIOUR])
def test_each_signal_moves_the_score_by_its_points(signal, lines, delta):
    assert points(chat(*lines)) - points(chat(*BASELINE)) == delta


@pytest.mark.parametrize(("age", "expected"), [
    (timedelta(hours=2), fallback.RECENT_DAY),
    (timedelta(days=3), fallback.RECENT_WEEK),
    (timedelta(days=30), 0),
])
def test_recency_of_the_last_customer_message(age, expected):
    assert points(chat(*BASELINE, age=age)) - points(chat(*BASELINE, age=timedelta(days=30))) == expected


@pytest.mark.parametrize("text", [
    "That's too expensive for me, not interested", "Muy caro, no me interesa",
    "Muito caro, não tenho interesse", "Trop cher, pas intéressé", "Mahal masyado, hindi interesado",
    "Terlalu mahal, tidak tertarik", "I bought elsewhere", "STOP", "please unsubscribe me",
])
def test_negative_signals_mean_lost(text):
    analysis = fallback.score(chat("How much is it?", text), now=NOW)
    assert analysis.lead_status == "LOST"
    assert "negative signal -40" in analysis.reasoning
    assert analysis.lead_score < points(chat("How much is it?", "ok thanks"))


@pytest.mark.parametrize("text", [
    "Payment sent! Order confirmed?", "Listo, pago enviado", "Pagamento enviado", "Paiement envoyé !",
    "Nagbayad na po ako", "Sudah transfer kak", "paid, thank you",
])
def test_closing_signals_mean_won(text):
    analysis = fallback.score(chat("How much is it?", text), now=NOW)
    assert analysis.lead_status == "WON"
    assert "closing signal +40" in analysis.reasoning


def test_the_latest_outcome_wins():
    assert fallback.score(chat("too expensive", "ok fine, paid"), now=NOW).lead_status == "WON"
    assert fallback.score(chat("paid", "actually no, not interested"), now=NOW).lead_status == "LOST"


def test_status_follows_the_conversation():
    assert fallback.score(chat("hi"), now=NOW).lead_status == "NEW"
    assert fallback.score(chat("hi", (True, "Hello!")), now=NOW).lead_status == "CONTACTED"
    hot = chat("How much is the large set?", "Is it available this week?",
               "I'd like to order two. Can you deliver?", "My number is +63 917 555 0142")
    assert fallback.score(hot, now=NOW).lead_status == "QUALIFIED"


def test_reasoning_names_every_signal_with_its_points_and_the_total():
    analysis = fallback.score(chat("¿Cuánto cuesta? mi correo es sofia@example.com"), now=NOW)
    assert analysis.reasoning.startswith("base +5; customer messages +3")
    for part in ("questions (1) +3", "buying intent (cuesta, cuánto) +16", "contact details shared +15"):
        assert part in analysis.reasoning
    assert analysis.reasoning.endswith(f"= {analysis.lead_score}")
    assert analysis.used_fallback and analysis.model == "fallback"
    assert analysis.confidence <= 40


def test_page_text_is_not_the_customers_intent():
    assert points(chat("hi", (True, "It costs $49, order now, pay by card!"))) == points(chat("hi"))


def test_an_empty_transcript_scores_one_or_more():
    analysis = fallback.score([], now=NOW)
    assert analysis.lead_score >= 1 and analysis.lead_status == "NEW"


def test_recommends_a_stage_of_the_pipeline():
    stages = [Stage(name="New", type="LEAD", lead_score_min=0, lead_score_max=30),
              Stage(name="Hot", type="IN_PROGRESS", lead_score_min=31, lead_score_max=100),
              Stage(name="Won", type="WON"), Stage(name="Lost", type="LOST")]
    assert fallback.score(chat("hi"), now=NOW, stages=stages).recommended_stage == "New"
    assert fallback.score(chat("paid"), now=NOW, stages=stages).recommended_stage == "Won"
    assert fallback.score(chat("not interested"), now=NOW, stages=stages).recommended_stage == "Lost"


texts = st.text(max_size=80)
transcripts = st.lists(st.tuples(st.booleans(), texts), max_size=15)
ages = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60))


@given(transcripts, ages)
def test_always_a_valid_low_confidence_fallback_analysis(lines, age):
    analysis = fallback.score(chat(*lines, age=age), now=NOW)
    assert 1 <= analysis.lead_score <= 100
    assert analysis.used_fallback and analysis.confidence <= 40


@given(transcripts, ages)
def test_same_transcript_same_result(lines, age):
    assert fallback.score(chat(*lines, age=age), now=NOW) == fallback.score(chat(*lines, age=age), now=NOW)


@given(transcripts)
def test_a_newer_neutral_customer_message_never_lowers_the_score(lines):
    before = chat(*lines, age=timedelta(hours=2))
    after = [*before, ChatMessage(mid="new", text="ok", sent_at=NOW - timedelta(hours=1))]
    if fallback.score(before, now=NOW).lead_status not in ("WON", "LOST"):
        assert points(after) >= points(before)
