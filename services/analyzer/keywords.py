"""Reads a message against the rule tables: normalised text in, phrase hits with their context out.

Pure and precompiled: every table (services/analyzer/lexicon) is compiled once, at import, into
one pattern per side of the conversation; scanning a message is a few regex passes over its
normalised text. Nothing here depends on set or dict iteration order or on `hash()`.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from re import _constants as sre
from re import _parser as sre_parse
from typing import Any, Literal

from services.analyzer.lexicon import CUSTOMER_CATEGORIES, LEXICONS, PAGE_CATEGORIES, Lexicon

Side = Literal["customer", "page"]

# How many words before a phrase a negation reaches ("I have not paid", "no lo he pagado").
NEGATION_WINDOW = 3
# How many words after a page's confirmation may make it conditional ("confirmed once ...").
CONDITION_AFTER = 2

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"}
# Words allowed after an acknowledgement ("Received po, salamat!") for it to stand alone.
_FILLER = frozenset(
    (
        "po",
        "na",
        "kak",
        "ka",
        "ya",
        "sis",
        "bro",
        "sir",
        "maam",
        "ma'am",
        "thanks",
        "thank",
        "you",
        "salamat",
        "gracias",
        "muchas",
        "mil",
        "obrigado",
        "obrigada",
        "merci",
        "beaucoup",
        "makasih",
        "terima",
        "kasih",
        "ok",
        "okay",
        "oke",
        "yes",
        "opo",
        "si",
        "sim",
        "oui",
        "aqui",
        "sa",
        "namin",
        "bien",
        "very",
        "much",
        "so",
        "amiga",
        "amigo",
        "gan",
        "kakak",
        "ini",
        "nya",
        "sudah",
        "udah",
    )
)
_TOKEN = re.compile(r"[\w']+")
_SENTENCE_END = re.compile(r"(?<!\d)\.|\.(?!\d)|[!?\n\u2026]")


@lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """One character, compatibility-normalised, case-folded and without accents."""
    if unicodedata.category(char) == "Cf":  # zero-width and other invisible format characters
        return ""
    char = _APOSTROPHES.get(char, char)
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", char).casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


@dataclass(frozen=True)
class Normalised:
    """A message's text normalised for matching, and where each of its characters came from."""

    text: str
    original: str
    origin: tuple[int, ...] | None = None  # None: same positions as the original

    def source(self, start: int, end: int) -> str:
        """The original text of the normalised span [start, end)."""
        if self.origin is None:
            return self.original[start:end]
        if start >= end:
            return ""
        return self.original[self.origin[start] : self.origin[end - 1] + 1]


def normalise(text: str) -> Normalised:
    """NFKC, case-folded, accents and invisible characters removed, apostrophes unified."""
    if text.isascii() and "`" not in text:
        return Normalised(text.lower(), text)
    pieces = list(map(_fold, text))
    folded = "".join(pieces)
    if len(folded) == len(text) and "" not in pieces:  # one character for one: same positions
        return Normalised(folded, text)
    origin = [i for i, piece in enumerate(pieces) for _ in piece]
    return Normalised(folded, text, tuple(origin))


@dataclass(frozen=True)
class Hit:
    """One phrase of a category found in a message, with what surrounds it."""

    category: str
    language: str
    text: str  # as the message wrote it
    start: int  # position in the normalised text (orders hits within a message)
    negated: bool  # a negation word shortly before it, in the same clause
    conditional: bool  # "if", "once", "cuando", ... before it in its sentence, or right after it
    question: bool  # its sentence is a question
    alone: bool  # nothing but filler words around it in its clause ("Ok, received po, salamat")


def _pattern_text(phrase: str) -> str:
    """A table phrase as regex source: accents folded like the text; a space is any run of white
    space, an optional space (" ?") any run or none."""
    folded = "".join(c if c.isascii() else _fold(c) for c in phrase)
    return folded.replace(" ?", r"\s*").replace(" ", r"\s+")


def _words(phrases: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])(?:" + "|".join(_pattern_text(p) for p in phrases) + r")(?![\w'])")


@dataclass(frozen=True)
class _Language:
    negation_words: frozenset[str]  # plain negating words
    negation_forms: re.Pattern[str]  # full-matches the other negating words ("haven't", "n'ai")
    conditional: re.Pattern[str]  # searched in the words around a confirmation


_REGEX_SYNTAX = re.compile(r"[\\\[\](){}?*+|^$.]")


def _language(lexicon: Lexicon, by_code: dict[str, Lexicon]) -> _Language:
    negations = [n for other in LEXICONS for n in other.negations]
    negations.extend(lexicon.local_negations)
    for other_code in lexicon.mixes_with:
        negations.extend(by_code[other_code].local_negations)
    forms = [n for n in negations if _REGEX_SYNTAX.search(n)]
    conditionals = [c for other in LEXICONS for c in other.conditionals]
    conditionals.extend(lexicon.local_conditionals)
    return _Language(
        negation_words=frozenset(_pattern_text(n) for n in negations if n not in forms),
        negation_forms=re.compile("|".join(f"(?:{_pattern_text(n)})" for n in forms) or "(?!)"),
        conditional=_words(conditionals),
    )


def _phrases(side: Side) -> list[tuple[str, str]]:
    """(group name `category__language`, regex source) of every phrase, in priority order."""
    out: list[tuple[str, str]] = []
    for category in CUSTOMER_CATEGORIES if side == "customer" else PAGE_CATEGORIES:
        for lexicon in LEXICONS:
            table = lexicon.customer if side == "customer" else lexicon.page
            out.extend((f"{category}__{lexicon.language}", _pattern_text(p)) for p in table.get(category, ()))
    return out


def _alternation(phrases: list[tuple[str, str]]) -> str:
    groups: list[tuple[str, list[str]]] = []
    for name, source in phrases:
        if groups and groups[-1][0] == name:
            groups[-1][1].append(source)
        else:
            groups.append((name, [source]))
    return "|".join(f"(?P<{name}>{'|'.join(sources)})" for name, sources in groups)


def single_pattern(side: Side) -> re.Pattern[str]:
    """Every phrase of a side in one alternation: what `scan` finds is defined as what this finds
    (leftmost match, earlier phrase first); the first-character dispatch only makes it faster."""
    return re.compile(r"(?<![\w'])(?:" + _alternation(_phrases(side)) + r")(?![\w'])")


_CharSet = frozenset[str] | None  # None: could be any character


def _first_chars(source: str) -> _CharSet:
    """The characters a match of `source` can start with, or None when that cannot be told."""
    try:
        chars, _ = _firsts(sre_parse.parse(source))
    except (re.error, TypeError, ValueError):
        return None
    return chars


def _firsts(items: Any) -> tuple[_CharSet, bool]:
    """(possible first characters, can match empty) of a parsed pattern sequence."""
    out: set[str] = set()
    for op, av in items:
        chars, empty = _first_of(op, av)
        if chars is None:
            return None, False
        out |= chars
        if not empty:
            return frozenset(out), False
    return frozenset(out), True


def _first_of(op: Any, av: Any) -> tuple[_CharSet, bool]:
    if op is sre.LITERAL:
        return frozenset(chr(av)), False
    if op in (sre.IN, sre.CATEGORY):
        return _charset(av if op is sre.IN else [(op, av)]), False
    if op is sre.BRANCH:
        out: set[str] = set()
        empty = False
        for branch in av[1]:
            chars, branch_empty = _firsts(branch)
            if chars is None:
                return None, False
            out |= chars
            empty = empty or branch_empty
        return frozenset(out), empty
    if op is sre.SUBPATTERN:
        return _firsts(av[3])
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        chars, empty = _firsts(av[2])
        return chars, empty or av[0] == 0
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return frozenset(), True  # zero-width: the match starts with what follows
    return None, False


_CATEGORIES = {sre.CATEGORY_DIGIT: "0123456789", sre.CATEGORY_SPACE: " \t\n\r\f\v"}


def _charset(items: Any) -> _CharSet:
    out: set[str] = set()
    for op, av in items:
        if op is sre.LITERAL:
            out.add(chr(av))
        elif op is sre.RANGE and av[1] - av[0] < 512:
            out.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op is sre.CATEGORY and av in _CATEGORIES:
            out.update(_CATEGORIES[av])
        else:
            return None
    return frozenset(out)


@dataclass(frozen=True)
class _Dispatch:
    """Per first character, the phrases that can start with it (in priority order)."""

    by_char: dict[str, re.Pattern[str]]
    anywhere: re.Pattern[str] | None  # phrases whose first character cannot be told

    def match(self, text: str, pos: int) -> re.Match[str] | None:
        pattern = self.by_char.get(text[pos], self.anywhere)
        return pattern.match(text, pos) if pattern is not None else None


def _dispatch(side: Side) -> _Dispatch:
    phrases = [(name, source, _first_chars(source)) for name, source in _phrases(side)]

    def compiled(keep: Callable[[_CharSet], bool]) -> re.Pattern[str] | None:
        chosen = [(n, s) for n, s, first in phrases if keep(first)]
        return re.compile("(?:" + _alternation(chosen) + r")(?![\w'])") if chosen else None

    def starts_with(char: str) -> Callable[[_CharSet], bool]:
        return lambda first: first is None or char in first

    by_char: dict[str, re.Pattern[str]] = {}
    for char in sorted({c for _, _, first in phrases if first for c in first}):
        pattern = compiled(starts_with(char))
        assert pattern is not None
        by_char[char] = pattern
    return _Dispatch(by_char, compiled(lambda first: first is None))


_BY_CODE = {lexicon.language: lexicon for lexicon in LEXICONS}
_LANGUAGES = {lexicon.language: _language(lexicon, _BY_CODE) for lexicon in LEXICONS}
_DISPATCH: dict[Side, _Dispatch] = {"customer": _dispatch("customer"), "page": _dispatch("page")}
_PARTICLES = frozenset(_pattern_text(p) for lexicon in LEXICONS for p in lexicon.particles)
_STARTS = re.compile(r"(?<![\w'])\S")
# Categories whose meaning depends on a condition ("if", "once"): the rest skip that check.
_CONDITIONAL = frozenset(("cancel", "refusal", "claim", "objection", *PAGE_CATEGORIES))
# Punctuation and the words that end a negation's reach ("no es caro, pero...", "no problem").
_CLAUSE_BREAK = re.compile(
    r"[.,;:!?\n()\[\]\u00bf\u00a1\u2026\u2014\u2013]|\s-\s|"
    + _words(b for lexicon in LEXICONS for b in lexicon.scope_breaks).pattern
)
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[a-z]{2,}")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d\s().\-]{7,}\d(?!\w)")


def _negated(lang: _Language, before: str) -> bool:
    words = [w for w in _TOKEN.findall(before) if w not in _PARTICLES]
    return any(w in lang.negation_words or lang.negation_forms.fullmatch(w) for w in words[-NEGATION_WINDOW:])


def _negates(lang: _Language, text: str) -> bool:
    return any(w in lang.negation_words or lang.negation_forms.fullmatch(w) for w in _TOKEN.findall(text))


def _matches(body: str, side: Side) -> list[re.Match[str]]:
    """Leftmost, non-overlapping phrase matches: the same as `single_pattern(side).finditer`."""
    dispatch = _DISPATCH[side]
    out: list[re.Match[str]] = []
    resume = 0
    for start in _STARTS.finditer(body):
        pos = start.start()
        if pos < resume:
            continue
        match = dispatch.match(body, pos)
        if match is not None and match.end() > pos:
            out.append(match)
            resume = match.end()
    return out


@dataclass(frozen=True)
class Reading:
    """What one message says: its phrase hits and, for a customer, the contact details it shares."""

    hits: tuple[Hit, ...]
    contacts: tuple[str, ...] = ()  # "phone", "email"


# Scoring re-reads a conversation's older messages each time a new one arrives: readings are
# memoised by text (pure: the same text always reads the same).
@lru_cache(maxsize=8192)
def read(text: str, side: Side) -> Reading:
    """Every phrase of the side's categories in `text`, leftmost first (earlier categories win
    where two start at the same place), with their negation, condition and question flags."""
    norm = normalise(text)
    matches = _matches(norm.text, side)
    hits = _hits(norm, matches, side) if matches else ()
    return Reading(hits, _contacts(norm.text) if side == "customer" else ())


def scan(text: str, side: Side) -> tuple[Hit, ...]:
    return read(text, side).hits


def _hits(norm: Normalised, matches: list[re.Match[str]], side: Side) -> tuple[Hit, ...]:
    body = norm.text
    spans = [m.span() for m in _CLAUSE_BREAK.finditer(body)]
    breaks = [e for _, e in spans]
    break_starts = [s for s, _ in spans]
    ends = [(m.start(), m.group()) for m in _SENTENCE_END.finditer(body)]
    end_positions = [e[0] for e in ends]
    hits = []
    for match in matches:
        assert match.lastgroup is not None
        category, code = match.lastgroup.split("__")
        lang = _LANGUAGES[code]
        start, end = match.span()
        clause_start = breaks[bisect_right(breaks, start) - 1] if breaks and breaks[0] <= start else 0
        i = bisect_right(break_starts, end - 1)
        clause_end = break_starts[i] if i < len(break_starts) else len(body)
        j = bisect_right(end_positions, start - 1)
        sentence_start = end_positions[j - 1] + 1 if j else 0
        k = bisect_right(end_positions, end - 1)
        terminator = ends[k][1] if k < len(ends) else ""
        sentence_end = ends[k][0] if k < len(ends) else len(body)
        after = _TOKEN.findall(body[end:clause_end])
        before = _TOKEN.findall(body[clause_start:start])
        # A page's confirmation never holds a negation or a condition of its own: one found inside
        # it ("your order will be shipped once payment is confirmed") counts like one before it.
        inside = body[start:end] if side == "page" else ""
        hits.append(
            Hit(
                category=category,
                language=code,
                text=norm.source(start, end),
                start=start,
                negated=_negated(lang, body[clause_start:start]) or _negates(lang, inside),
                conditional=category in _CONDITIONAL
                and bool(
                    lang.conditional.search(body[sentence_start:start])
                    or lang.conditional.search(" ".join(after[:CONDITION_AFTER]))
                    or lang.conditional.search(inside)
                ),
                question=terminator == "?" or "\u00bf" in body[sentence_start:sentence_end],
                alone=all(w in _FILLER for w in (*before, *after)),
            )
        )
    return tuple(hits)


def _contacts(body: str) -> tuple[str, ...]:
    kinds = []
    # Nine digits or more: a phone number, not a price, a date or a quantity.
    if sum(c.isdigit() for c in body) >= 9 and any(
        sum(c.isdigit() for c in m.group()) >= 9 for m in _PHONE.finditer(body)
    ):
        kinds.append("phone")
    if "@" in body and _EMAIL.search(body):
        kinds.append("email")
    return tuple(kinds)
