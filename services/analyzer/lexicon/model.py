"""The shape of one language's rule table for the fallback scorer: phrases by category, as data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Customer-side categories, in priority order: where two phrases start at the same place, the
# earlier category wins ("not interested" is a refusal, not interest; "cancel my order" is not
# an intent to order).
CUSTOMER_CATEGORIES = (
    "cancel",  # asks to cancel an order or for a refund: undoes even a confirmed sale
    "refusal",  # an explicit no: not interested, bought elsewhere, stop messaging me
    "pending",  # says payment is still to come ("belum bayar", "hindi pa bayad")
    "claim",  # says they paid ("I paid", "ya pagué"); only the page can confirm it
    "payment",  # how or where to pay, payment methods, account details
    "intent",  # wants to order, buy, book, reserve
    "address",  # a postal address in the locale's usual form
    "objection",  # the price is too high
    "hesitation",  # will think about it, maybe later, just looking
    "quantity",  # how many
    "price",  # asks the price
    "delivery",  # shipping, delivery, pickup
    "interest",  # availability, sizes, colours, details
    "date",  # when: tomorrow, Saturday, the 15th
)
# Page-side categories: a confirmation makes WON; an acknowledgement ("received") confirms only
# right after the customer said they paid, and not in a message that says it will still check
# ("Received, we'll verify"); a closing (order cancelled, refunded) makes LOST.
PAGE_CATEGORIES = ("closing", "confirmation", "checking", "ack")


@dataclass(frozen=True)
class Lexicon:
    """One language's phrases, written normalised: lower case; accents may be kept (they are
    stripped when compiled); a space matches any run of white space; regular-expression syntax
    with non-capturing groups only. Every phrase is matched as whole words."""

    language: str
    # Words (full-match patterns) that negate a phrase up to three words after them in the same
    # clause: "not paid", "não é caro", "belum bayar". They apply to every language's phrases,
    # since a phrase shared by two languages is matched under the first one's name.
    negations: tuple[str, ...]
    # Words that make a confirmation, a claim or a refusal conditional ("once we receive it,
    # ..."); like negations they apply to every language's phrases.
    conditionals: tuple[str, ...]
    # Phrases that end a negation's scope besides punctuation: "but", "no problem".
    scope_breaks: tuple[str, ...] = ()
    # Negations that are ordinary words elsewhere (Spanish "no" is Portuguese "in the",
    # Tagalog "di" is Indonesian "at"): they apply to this language's phrases only, and to those
    # of the languages it mixes with.
    local_negations: tuple[str, ...] = ()
    local_conditionals: tuple[str, ...] = ()  # "se" (Portuguese "if", Spanish "itself")
    # Words a negation reaches over without counting them: "hindi pa po namin natanggap".
    particles: tuple[str, ...] = ()
    # Languages whose words are commonly mixed into this one (Taglish, Indonesian English).
    mixes_with: tuple[str, ...] = ()
    customer: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    page: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
