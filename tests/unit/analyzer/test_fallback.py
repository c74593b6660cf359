"""The fallback scorer: levels and signals, guarded WON/LOST, negation, evidence; never 0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.analyzer import fallback
from shared.messages import ChatMessage
from shared.vocabulary import Stage

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PAGE = True


def chat(*lines: str | tuple[bool, str], age: timedelta = timedelta(hours=1)) -> list[ChatMessage]:
    """Messages one minute apart, the last one `age` before NOW; a tuple is (from_page, text)."""
    out = []
    for i, line in enumerate(lines):
        from_page, text = line if isinstance(line, tuple) else (False, line)
        sent = NOW - age - timedelta(minutes=len(lines) - 1 - i)
        out.append(ChatMessage(mid=f"m{i}", from_page=from_page, text=text, sent_at=sent))
    return out


def scored(*lines: str | tuple[bool, str], **kw):
    return fallback.score(chat(*lines, **kw), now=NOW)


def signal(analysis, prefix: str):
    found = [s for s in analysis.signals if s.signal.startswith(prefix)]
    assert found, f"no {prefix!r} signal in {analysis.reasoning}"
    return found[0]


# One customer line per language and level: (line, level the strongest signal sets).
LEVELS = [
    ("What colours do you have?", fallback.CURIOUS),
    ("¿Cuánto cuesta?", fallback.CURIOUS),
    ("Vocês entregam em Niterói?", fallback.CURIOUS),
    ("C'est combien ?", fallback.CURIOUS),
    ("Magkano po?", fallback.CURIOUS),
    ("Masih ready stok kak?", fallback.CURIOUS),
    ("I'd like to order two", fallback.COMMITTED),
    ("¿Aceptan tarjeta?", fallback.COMMITTED),
    ("Me passa a chave pix?", fallback.COMMITTED),
    ("Je le prends", fallback.COMMITTED),
    ("Pwede po COD?", fallback.COMMITTED),
    ("Saya mau pesan ya kak", fallback.COMMITTED),
    ("My number is +63 917 555 0142", fallback.COMMITTED),
    ("I paid already", fallback.CLAIMED),
]


@pytest.mark.parametrize(("line", "level"), LEVELS, ids=[line for line, _ in LEVELS])
def test_the_strongest_signal_sets_the_level(line, level):
    analysis = scored(line)
    engagement = fallback.PER_MESSAGE + fallback.RECENT_DAY + min(line.count("?"), 1) * fallback.PER_QUESTION
    assert analysis.lead_score == level + engagement


def test_each_further_kind_of_signal_adds_a_little_and_curiosity_alone_stays_warm():
    price = scored("How much?").lead_score
    more = scored("How much? What colours do you have? Do you deliver?").lead_score
    assert more == price + 2 * fallback.EXTRA + 2 * fallback.PER_QUESTION
    assert more < fallback.HOT_AT  # questions alone are never hot, however many
    busy = scored(*["How much? What sizes? Any photos? Do you ship? Is it available?"] * 6)
    assert busy.lead_score < fallback.HOT_AT and busy.lead_status == "NEW"


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(hours=2), fallback.RECENT_DAY),
        (timedelta(days=3), fallback.RECENT_WEEK),
        (timedelta(days=30), 0),
    ],
)
def test_recency_of_the_last_customer_message(age, expected):
    assert (
        scored("hello", age=age).lead_score - scored("hello", age=timedelta(days=30)).lead_score == expected
    )


def test_status_follows_the_conversation():
    assert scored("hi").lead_status == "NEW"
    assert scored("hi", (PAGE, "Hello!")).lead_status == "CONTACTED"
    hot = scored(
        "How much is the large set?",
        "I'd like to order two. Can you deliver?",
        "My number is +63 917 555 0142",
    )
    assert hot.lead_status == "QUALIFIED" and fallback.HOT_AT <= hot.lead_score <= fallback.OPEN_MAX


# A customer's claim alone, in every language: QUALIFIED, high, and saying it is not confirmed.
CLAIMS = [
    "I have paid",
    "paid, thank you!",
    "Ya pagué",
    "Listo, transferencia hecha",
    "Já paguei",
    "Fiz o pix agora",
    "J'ai payé",
    "Virement effectué",
    "Bayad na po",
    "Sent na po via GCash",
    "Sudah transfer kak",
    "Udah bayar ya",
    "Payment sent! Order confirmed?",
    "Pedido confirmado, ¡gracias!",
]


@pytest.mark.parametrize("text", CLAIMS)
def test_a_customers_claim_alone_is_qualified_never_won(text):
    analysis = scored("How much is it?", (PAGE, "It's $49."), text)
    assert analysis.lead_status == "QUALIFIED"
    assert fallback.HOT_AT <= analysis.lead_score <= fallback.OPEN_MAX
    if "confirm" not in text.lower():
        assert signal(analysis, "customer says paid, not confirmed").mids == ["m2"]
    assert fallback.confirmation_mids(chat("How much is it?", text)) == []


CONFIRMATIONS = [
    "Payment received, thank you!",
    "Your order is confirmed and ships tomorrow.",
    "We have received your payment.",
    "Your booking is confirmed for Saturday at 10am.",
    "¡Pago recibido! Gracias",
    "Tu pedido está confirmado, sale mañana.",
    "Recibimos tu transferencia",
    "Pagamento recebido! Seu pedido já está em separação",
    "Recebemos seu pix, pedido confirmado",
    "Paiement bien reçu, merci !",
    "Votre commande est confirmée.",
    "Nous avons bien reçu votre virement",
    "Received po ang payment, salamat!",
    "Confirmed na po ang order nyo",
    "Natanggap na po namin ang bayad",
    "Pembayaran sudah kami terima kak",
    "Pesanan kakak sudah dikirim hari ini",
    "Dana sudah masuk kak",
]


@pytest.mark.parametrize("text", CONFIRMATIONS)
def test_a_page_confirmation_makes_won_and_is_cited(text):
    messages = chat("I'll take it", (PAGE, text))
    analysis = fallback.score(messages, now=NOW)
    assert analysis.lead_status == "WON" and analysis.lead_score >= fallback.WON_MIN
    assert "m1" in signal(analysis, "page confirmed the payment or order").mids
    assert fallback.confirmation_mids(messages) == ["m1"]


@pytest.mark.parametrize(
    "text",
    [
        "We haven't received your payment yet.",
        "No payment received so far.",
        "Ainda não recebemos o pagamento",
        "Todavía no recibimos tu pago",
        "Nous n'avons pas encore reçu votre paiement",
        "Hindi pa po namin natanggap ang bayad",
        "Pembayaran belum masuk kak",
        "Your order will be confirmed once we receive the payment.",
        "Once payment is received, your order is confirmed.",
        "Cuando recibamos el pago, tu pedido queda confirmado.",
        "Assim que o pagamento for recebido, o pedido fica confirmado",
        "Dès que le paiement est reçu, votre commande est confirmée.",
        "Kalau pembayaran sudah masuk, pesanan dikirim ya kak",
        "Payment received?",
        "¿Ya está confirmado tu pedido?",
        # Promises to confirm later are not confirmations ("confirme" is also French "I confirm").
        "Merci, je vérifie et je vous confirme",
        "We will check and get it confirmed today",
        "Your order will be shipped once payment is confirmed",
        "The booking for Saturday is confirmed once you pay the deposit",
        "Thanks! Please allow 24h for us to confirm your payment",
        "Te confirmo en un rato",
    ],
)
def test_a_negated_conditional_or_questioning_page_message_is_not_a_confirmation(text):
    analysis = scored("I paid", (PAGE, text))
    assert analysis.lead_status == "QUALIFIED", analysis.reasoning


def test_a_bare_acknowledgement_confirms_only_after_the_customer_said_they_paid():
    for claim, ack in [
        ("Sent the payment", "Received, thanks!"),
        ("Ya pagué", "Recibido, ¡gracias!"),
        ("Já fiz o pagamento", "Recebido, obrigada!"),
        ("Je viens de payer", "Bien reçu, merci !"),
        ("Sent na po", "Received po, salamat!"),
        ("Udah tf kak", "Sudah masuk kak, makasih ya"),
    ]:
        analysis = scored("How much?", claim, (PAGE, ack))
        assert analysis.lead_status == "WON", (claim, ack)
        assert signal(analysis, "page confirmed").mids == ["m1", "m2"]  # the claim and its acknowledgement
        assert scored("How much?", (PAGE, ack)).lead_status != "WON"
    # "received" with more words in its clause is not a bare acknowledgement, and an
    # acknowledgement in a message that says it will still check confirms nothing.
    for reply in [
        "Received your message, we will check",
        "Got it, I'll check",
        "Received, will check and confirm",
        "Natanggap na po namin ang message nyo",
        "Recibido, lo verificamos y te aviso",
        "Recebido! Vou conferir e já te falo",
        "Oke kak, kami cek dulu ya",
        "Natanggap na po namin ang order nyo, paki-send na lang po ang bayad",
    ]:
        assert scored("I paid", (PAGE, reply)).lead_status == "QUALIFIED", reply


def test_the_reported_defect_not_paid_yet_is_not_won():
    analysis = scored("How much? I have not paid yet")
    assert analysis.lead_status not in ("WON", "LOST")
    assert signal(analysis, "payment pending: not paid yet").mids == ["m0"]


@pytest.mark.parametrize(
    "text",
    [
        "I have not paid, please don't stop sending offers",
        "Please don't stop sending me your promos!",
        "No dejen de mandarme las promos",
        "Não parem de me mandar promoções",
        "Gak mahal kok",
        "Ce n'est pas que ça ne m'intéresse pas",
        "Bukan gak minat kak",
        "not too expensive",
        "No es caro",
        "Não é caro",
        "Hindi naman mahal",
        "C'est pas cher",
    ],
)
def test_a_negated_refusal_or_objection_never_makes_lost(text):
    analysis = scored("How much?", (PAGE, "$49"), text)
    assert analysis.lead_status != "LOST", analysis.reasoning
    assert "price objection" not in analysis.reasoning


REFUSALS = [
    "That's too expensive for me, not interested",
    "Muy caro, no me interesa",
    "No, gracias",
    "Muito caro, não tenho interesse",
    "Trop cher, pas intéressé",
    "Non merci",
    "Mahal masyado, hindi interesado",
    "Terlalu mahal, tidak tertarik",
    "I bought elsewhere",
    "STOP",
    "ok stop",
    "please unsubscribe me",
    "Please stop messaging me",
    "Dejen de escribirme",
    "Ya lo compré en otro lado",
    "Para de me mandar mensagem",
    "Arrêtez de m'envoyer des messages",
    "Nakabili na po ako sa iba",
    "Wag na po",
    "Gak jadi deh kak",
    "Jangan chat saya lagi",
    "Cancel my order please",
    "Quiero cancelar mi pedido",
    "Pa-cancel po ng order",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_an_explicit_refusal_or_cancellation_is_lost_and_cited(text):
    analysis = scored("How much is it?", (PAGE, "It's $49."), text)
    assert analysis.lead_status == "LOST", analysis.reasoning
    assert analysis.lead_score <= fallback.LOST_MAX
    assert signal(analysis, "refusal or closing").mids == ["m2"]


@pytest.mark.parametrize(
    "text",
    [
        "lol no thanks needed, happy to help",
        "If it's too expensive I'll pass, but how much?",
        "Can I cancel my order if it doesn't arrive by Friday?",
    ],
)
def test_hypothetical_or_idiomatic_refusals_are_not_lost(text):
    analysis = scored(text)
    assert analysis.lead_status != "LOST" and "price objection" not in analysis.reasoning


@pytest.mark.parametrize(
    "text",
    [
        "I'll send the payment tonight",
        "Te deposito mañana",
        "Vou fazer o pix hoje",
        "Je fais le virement ce soir",
        "Magbabayad po ako bukas",
        "Belum kak, nanti saya transfer",
    ],
)
def test_a_promise_to_pay_is_a_commitment(text):
    analysis = scored(text)
    assert analysis.lead_status == "QUALIFIED", analysis.reasoning


def test_page_replies_that_may_settle_the_deal_are_told_apart():
    deciding = ["Payment received!", "Received po, salamat!", "Pedido cancelado", "Dana sudah masuk kak"]
    idle = [
        "Hi! Thanks for reaching out",
        "It's $49",
        "Payment received?",
        "We haven't received it yet",
        "Once payment is received, your order is confirmed",
    ]
    for text in deciding:
        assert fallback.page_may_decide(chat((PAGE, text))), text
    for text in idle:
        assert not fallback.page_may_decide(chat((PAGE, text))), text
    assert not fallback.page_may_decide(chat("Payment received!"))  # a customer's words


def test_a_page_closing_is_lost():
    analysis = scored("I ordered yesterday", (PAGE, "As requested, your order has been cancelled."))
    assert analysis.lead_status == "LOST" and signal(analysis, "refusal or closing").mids == ["m1"]


def test_after_a_confirmed_sale_only_a_cancellation_undoes_it():
    sale = ["paid", (PAGE, "Payment received, your order is confirmed!")]
    assert scored(*sale, "ok stop").lead_status == "WON"
    assert scored(*sale, "Thanks. Please stop sending me promos").lead_status == "WON"
    assert scored(*sale, "Sorry, I want to cancel my order").lead_status == "LOST"
    assert scored(*sale, (PAGE, "Your order has been cancelled and refunded.")).lead_status == "LOST"


def test_renewed_interest_after_a_refusal_is_not_lost():
    analysis = scored("Not interested", "Actually, how much is the small one?")
    assert analysis.lead_status != "LOST"
    assert signal(analysis, "refusal, then renewed interest").points == fallback.RENEWED
    assert scored("How much?", "Not interested").lead_status == "LOST"


def test_a_later_outcome_replaces_an_earlier_one():
    assert scored("not interested", "ok fine, I'll take it", (PAGE, "Order confirmed!")).lead_status == "WON"
    assert scored("I'll take it", "actually no, not interested").lead_status == "LOST"


def test_hesitation_after_a_commitment_keeps_the_lead_below_hot():
    committed = scored("I'll take two. Can I pay by card?")
    deciding = scored("I'll take two. Can I pay by card?", "Hmm, let me think about it")
    assert committed.lead_status == "QUALIFIED"
    assert deciding.lead_status != "QUALIFIED" and deciding.lead_score < fallback.HOT_AT
    again = scored("I'll take two", "let me think about it", "ok, I'll take them, can I pay by card?")
    assert again.lead_status == "QUALIFIED"


def test_reasoning_lists_every_signal_with_its_points_and_the_total():
    analysis = scored("¿Cuánto cuesta? mi correo es sofia@example.com")
    assert analysis.reasoning.startswith(f"base +{fallback.BASE}; customer messages (1) +1")
    for part in ("questions (1) +1", "contact details shared (email)", "asked the price (Cuánto cuesta) +3"):
        assert part in analysis.reasoning
    assert analysis.reasoning.endswith(f"= {analysis.lead_score}")
    assert analysis.used_fallback and analysis.model == "fallback"
    assert analysis.confidence <= 40


def test_page_text_is_not_the_customers_intent():
    assert scored("hi", (PAGE, "It costs $49, order now, pay by card!")).lead_score == scored("hi").lead_score


def test_an_empty_transcript_scores_one_or_more():
    analysis = fallback.score([], now=NOW)
    assert analysis.lead_score >= 1 and analysis.lead_status == "NEW" and analysis.evidence == []


def test_recommends_a_stage_of_the_pipeline():
    stages = [
        Stage(name="New", type="LEAD", lead_score_min=0, lead_score_max=30),
        Stage(name="Hot", type="IN_PROGRESS", lead_score_min=31, lead_score_max=100),
        Stage(name="Won", type="WON"),
        Stage(name="Lost", type="LOST"),
    ]
    assert fallback.score(chat("hi"), now=NOW, stages=stages).recommended_stage == "New"
    assert fallback.score(chat("paid"), now=NOW, stages=stages).recommended_stage == "Hot"
    won = chat("paid", (PAGE, "Payment received!"))
    assert fallback.score(won, now=NOW, stages=stages).recommended_stage == "Won"
    assert fallback.score(chat("not interested"), now=NOW, stages=stages).recommended_stage == "Lost"


# Transcripts built from the phrases that matter, so the properties meet claims, refusals,
# confirmations and negations, not only random noise.
PHRASES = [
    *CLAIMS,
    *CONFIRMATIONS,
    *REFUSALS,
    "I have not paid yet",
    "don't stop",
    "not interested",
    "How much?",
    "I'll take two",
    "+63 917 555 0142",
    "ok",
    "¿no?",
    "received",
    "thanks",
    "no",
]
lines = st.one_of(
    st.text(max_size=60),
    st.sampled_from(PHRASES),
    st.lists(st.sampled_from(PHRASES), min_size=2, max_size=3).map(", ".join),
)
transcripts = st.lists(st.tuples(st.booleans(), lines), max_size=12)
ages = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60))


@given(transcripts, ages)
def test_always_a_valid_explained_low_confidence_analysis(lines, age):
    messages = chat(*lines, age=age)
    analysis = fallback.score(messages, now=NOW)
    assert analysis.used_fallback and analysis.confidence <= 40
    # The signals add up to the score, base included; each cites messages of this transcript.
    assert sum(s.points for s in analysis.signals) == analysis.lead_score
    mids = [m.mid for m in messages]
    assert all(set(s.mids) <= set(mids) for s in analysis.signals)
    assert analysis.evidence == [m for m in mids if any(m in s.mids for s in analysis.signals if s.points)]
    band = {"WON": (fallback.WON_MIN, 100), "LOST": (1, fallback.LOST_MAX)}
    low, high = band.get(analysis.lead_status, (1, fallback.OPEN_MAX))
    assert low <= analysis.lead_score <= high


@given(transcripts, ages)
def test_won_always_cites_a_confirming_page_message(lines, age):
    messages = chat(*lines, age=age)
    analysis = fallback.score(messages, now=NOW)
    confirming = fallback.confirmation_mids(messages)
    assert all(m.from_page for m in messages if m.mid in confirming)
    if analysis.lead_status == "WON":
        assert set(analysis.signals[-1].mids) & set(confirming)


@given(st.lists(lines, max_size=12))
def test_without_page_messages_there_is_no_won(customer_lines):
    assert fallback.score(chat(*customer_lines), now=NOW).lead_status != "WON"


@given(transcripts, ages)
def test_same_transcript_same_result(lines, age):
    assert fallback.score(chat(*lines, age=age), now=NOW) == fallback.score(chat(*lines, age=age), now=NOW)


@given(transcripts)
def test_a_newer_neutral_customer_message_never_lowers_the_score(lines):
    before = chat(*lines, age=timedelta(hours=2))
    after = [*before, ChatMessage(mid="new", text="ok", sent_at=NOW - timedelta(hours=1))]
    if fallback.score(before, now=NOW).lead_status not in ("WON", "LOST"):
        assert fallback.score(after, now=NOW).lead_score >= fallback.score(before, now=NOW).lead_score
