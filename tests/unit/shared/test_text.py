"""Cleaning text for Postgres: NUL and lone surrogates go, everything else stays."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.text import clean


def test_nul_and_lone_surrogates_are_removed_and_emoji_kept():
    assert clean("a\x00b") == "ab"
    assert clean("x\ud800y\udfffz") == "xyz"
    assert clean("olá 👋") == "olá 👋"
    plain = "plain ascii"
    assert clean(plain) is plain


@given(st.text(alphabet=st.characters(codec=None)))
def test_cleaned_text_always_encodes_as_utf8_without_nul(value):
    out = clean(value)
    out.encode("utf-8")
    assert "\x00" not in out
