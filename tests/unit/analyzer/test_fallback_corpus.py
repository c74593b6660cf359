"""The fallback against the labeled corpus (tests/data/scoring): agreement and the two guards."""

from __future__ import annotations

from collections import Counter

import pytest

from services.analyzer import fallback
from tests.support import scoring_corpus

FLOOR = 0.9


@pytest.fixture(scope="module")
def report() -> scoring_corpus.Report:
    return scoring_corpus.Report(scoring_corpus.evaluate(scoring_corpus.load()))


def test_the_corpus_is_large_varied_and_balanced(report):
    conversations = [r.conversation for r in report.results]
    assert len(conversations) >= 200
    assert len({c.id for c in conversations}) == len(conversations)
    labels = Counter(c.label for c in conversations)
    assert set(labels) == set(scoring_corpus.LABELS)
    assert min(labels.values()) >= 0.15 * len(conversations)  # roughly balanced
    for language in scoring_corpus.LANGUAGES:
        mine = [c for c in conversations if c.language == language]
        assert {c.label for c in mine} == set(scoring_corpus.LABELS), language
    held_out = [c for c in conversations if c.split == "holdout"]
    assert len(held_out) >= 0.25 * len(conversations)
    both_sides = [c for c in conversations if {m.from_page for m in c.messages} == {True, False}]
    assert len(both_sides) >= 0.8 * len(conversations)
    for c in conversations:
        assert c.reason.strip() and any(not m.from_page for m in c.messages), c.id
        # WON is defined by a page confirmation; a customer's claim alone is never WON.
        assert (c.label == "WON") <= ("confirmation" in c.tags), c.id
        assert not (c.label == "WON" and "claim" in c.tags), c.id


@pytest.mark.parametrize("split", [None, *scoring_corpus.SPLITS])
def test_agreement_with_the_labels_is_at_least_the_floor(report, split):
    agreeing, total = report.agreement(**({"split": split} if split else {}))
    misses = [(r.conversation.id, r.conversation.label, r.predicted) for r in report.misses]
    assert agreeing / total >= FLOOR, misses


def test_never_won_without_a_page_confirmation(report):
    assert [r.conversation.id for r in report.won_without_confirmation] == []


def test_never_lost_from_a_negated_phrase(report):
    assert [r.conversation.id for r in report.lost_from_negation] == []


def test_the_guards_would_see_a_scorer_that_trusts_claims_and_ignores_negation():
    """The two counts are not vacuous: a scorer reading "paid" as WON and "stop" as LOST fails them."""
    conversations = scoring_corpus.load()

    def naive(conversation):
        text = " ".join(m.text or "" for m in conversation.messages if not m.from_page).lower()
        won, lost = (
            any(w in text for w in ("paid", "pagué", "paguei", "bayad na")),
            "stop" in text or "caro" in text,
        )
        status = "WON" if won else "LOST" if lost else "QUALIFIED"
        analysis = fallback.score(conversation.messages, now=scoring_corpus.NOW)
        analysis = analysis.model_copy(update={"lead_status": status})
        return scoring_corpus.Result(conversation, analysis, scoring_corpus.label_of(analysis))

    report = scoring_corpus.Report([naive(c) for c in conversations])
    assert report.won_without_confirmation and report.lost_from_negation
