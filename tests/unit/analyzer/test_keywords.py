"""Reading messages against the rule tables: normalisation, negation scope, contact details."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.analyzer import keywords
from services.analyzer.lexicon import CUSTOMER_CATEGORIES, LEXICONS, PAGE_CATEGORIES
from tests.support import scoring_corpus


def hits(text: str, side: keywords.Side = "customer") -> list[tuple[str, str, bool]]:
    return [(h.category, h.text, h.negated) for h in keywords.scan(text, side)]


@pytest.mark.parametrize(
    ("variant", "plain"),
    [
        ("YA PAGUÉ", "ya pague"),
        ("\uff50\uff41\uff49\uff44", "paid"),
        ("Pago recibido", "pago recibido"),
        ("pa\u200bid", "paid"),
        ("don\u2019t stop", "don't stop"),
        ("ﬁnal", "final"),
        ("Não é caro", "nao e caro"),
        ("Ça coûte combien ?", "ca coute combien ?"),
        (
            "\uff30\uff41\uff59\uff4d\uff45\uff4e\uff54\u3000\uff52\uff45\uff43\uff45\uff49\uff56\uff45\uff44",
            "payment received",
        ),
    ],
)
def test_case_accents_width_and_invisible_characters_are_normalised(variant, plain):
    assert keywords.normalise(variant).text == plain
    assert [h[0] for h in hits(variant, "page")] == [h[0] for h in hits(plain, "page")]
    assert [h[0] for h in hits(variant)] == [h[0] for h in hits(plain)]


def test_a_hit_quotes_the_text_as_written():
    [hit] = keywords.scan("\uff39\uff41  pagué!", "customer")
    assert hit.text == "\uff39\uff41  pagué"


# The negations, one per language, and their un-negated twins.
NEGATED = [
    ("I have not paid yet", "claim"),
    ("please don't stop sending offers", "refusal"),
    ("no es caro", "objection"),
    ("ainda não paguei", "claim"),
    ("pas encore payé", "claim"),
    ("not too expensive", "objection"),
    ("todavía no he pagado", "claim"),
    ("je n'ai toujours pas payé", "claim"),
    ("hindi naman mahal", "objection"),
    ("gak mahal kok", "objection"),
    ("Hindi pa po namin natanggap ang bayad", "confirmation"),
]


@pytest.mark.parametrize(("text", "category"), NEGATED)
def test_negation_reaches_the_phrase_after_it(text, category):
    side = "page" if category == "confirmation" else "customer"
    found = [h for h in keywords.scan(text, side) if h.category == category]
    assert found and all(h.negated for h in found), hits(text, side)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I have paid", "claim"),
        ("please stop sending offers", "refusal"),
        ("es caro", "objection"),
        ("já paguei", "claim"),
        ("c'est payé", "claim"),
        ("too expensive", "objection"),
    ],
)
def test_without_the_negation_the_phrase_counts(text, category):
    assert (category, False) in [(c, n) for c, _, n in hits(text)]


@pytest.mark.parametrize("text", ["hindi pa bayad", "belum bayar kak", "wala pa pong bayad"])
def test_not_yet_paid_is_read_as_payment_pending(text):
    assert [c for c, _, _ in hits(text)] == ["pending"]


# The first hit of a category that no negation reaches, though the message has one.
NOT_NEGATED = {
    "objection": (  # the negation stops at the end of its clause
        "No, es caro",
        "Not interested, too expensive",
        "Não quero, é caro",
        "Non, trop cher",
        "Ainda não paguei mas é caro",
    ),
    "intent": (  # "no problem" negates nothing that follows
        "No problem, I'll take it",
        "Sin problema, lo quiero",
        "Pas de souci, je le prends",
        "Walang problema po, kukunin ko na",
        "Gak papa kak, saya ambil ya",
    ),
}


@pytest.mark.parametrize(("category", "text"), [(c, t) for c, texts in NOT_NEGATED.items() for t in texts])
def test_negation_stops_at_the_end_of_its_clause_and_no_problem_negates_nothing(category, text):
    hits = [h for h in keywords.scan(text, "customer") if h.category == category]
    assert hits and not hits[0].negated


def test_a_confirmation_under_a_condition_or_in_a_question_is_flagged():
    [cond] = keywords.scan("Once we receive the payment, your order is confirmed", "page")
    assert cond.conditional
    after = keywords.scan("Your order is confirmed once payment is received", "page")
    assert after and all(h.conditional for h in after)
    [ask] = keywords.scan("Payment received?", "page")
    assert ask.question and not ask.conditional
    [plain] = keywords.scan("Payment received, we ship when the courier comes", "page")
    assert not (plain.conditional or plain.question)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("My number is (415) 555-0134", ("phone",)),
        ("07700 900123", ("phone",)),
        ("+63 917 555 0142", ("phone",)),
        ("0917 555 0199 po", ("phone",)),
        ("mi cel es 55 1234 5678", ("phone",)),
        ("+52 55 1234 5678", ("phone",)),
        ("WhatsApp (21) 99876-5432", ("phone",)),
        ("06 12 34 56 78", ("phone",)),
        ("No HP 0812-3456-7890", ("phone",)),
        ("mail: ana.g@example.co.id", ("email",)),
        ("It costs Rp 1.200.000", ()),
        ("on 25/12/2026", ()),
        ("$1,450", ()),
        ("order 4521", ()),
    ],
)
def test_contact_details_in_each_locale(text, kinds):
    assert keywords.read(text, "customer").contacts == kinds


@pytest.mark.parametrize(
    "text",
    [
        "214 Oak Street, Apt 3B",
        "88 Elm Road, Leeds LS6 2AB",
        "Calle Reforma 45, Col. Juárez",
        "Av. Insurgentes Sur 1602, CP 03940",
        "Rua das Flores, 120, apto 32",
        "CEP 01310-100",
        "12 rue de la Paix, 75002 Paris",
        "Blk 7 Lot 3, Brgy. San Isidro",
        "Jl. Merdeka No. 10, RT 03/RW 05",
    ],
)
def test_addresses_in_each_locale(text):
    assert "address" in [c for c, _, _ in hits(text)]


def test_every_language_covers_the_categories_that_decide_a_status():
    for lexicon in LEXICONS:
        for category in (
            "refusal",
            "claim",
            "payment",
            "intent",
            "price",
            "interest",
            "delivery",
            "address",
            "quantity",
            "date",
            "objection",
            "hesitation",
        ):
            assert lexicon.customer.get(category), (lexicon.language, category)
        for category in PAGE_CATEGORIES:
            assert lexicon.page.get(category), (lexicon.language, category)


def test_tables_are_normalised_phrases_without_capturing_groups():
    for lexicon in LEXICONS:
        tables = [*lexicon.customer.items(), *lexicon.page.items()]
        assert {c for c, _ in tables} <= {*CUSTOMER_CATEGORIES, *PAGE_CATEGORIES}, lexicon.language
        for category, phrases in tables:
            for phrase in phrases:
                assert re.compile(phrase).groups == 0, (lexicon.language, category, phrase)
                # Upper case would never match the case-folded text (regex escapes aside).
                assert not re.search(r"(?<!\\)[A-Z]", phrase), (lexicon.language, phrase)


fragments = st.sampled_from(
    [
        "paid",
        "not",
        "no",
        "é caro",
        "¿cuánto?",
        "ya pagué",
        "pas",
        "encore",
        "payé",
        "hindi pa",
        "bayad",
        "belum",
        "transfer",
        "received",
        "po",
        ",",
        ".",
        "?",
        "order",
        "confirmed",
        "stop",
        "don't",
        "cancel",
        "my",
        "12",
        "rue",
        "jl.",
        "kak",
        "i'll take it",
        "how much",
        "x2",
        " ",
    ]
)
texts = st.one_of(st.text(max_size=40), st.lists(fragments, max_size=12).map(" ".join))


SINGLE = {side: keywords.single_pattern(side) for side in ("customer", "page")}


@given(texts)
def test_first_character_dispatch_finds_exactly_what_one_alternation_finds(text):
    body = keywords.normalise(text).text
    for side, pattern in SINGLE.items():
        expected = [(m.span(), m.lastgroup) for m in pattern.finditer(body)]
        assert [(m.span(), m.lastgroup) for m in keywords._matches(body, side)] == expected


def test_dispatch_equals_one_alternation_on_the_whole_corpus():
    for conversation in scoring_corpus.load():
        for message in conversation.messages:
            body = keywords.normalise(message.text or "").text
            for side, pattern in SINGLE.items():
                expected = [(m.span(), m.lastgroup) for m in pattern.finditer(body)]
                assert [(m.span(), m.lastgroup) for m in keywords._matches(body, side)] == expected
