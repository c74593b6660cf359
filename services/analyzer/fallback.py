"""The deterministic, explainable fallback scorer (DESIGN §7.6): points per signal, no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.analyzer import keywords
from services.analyzer.prompt import Stage
from shared.messages import Analysis, ChatMessage, LeadStatus

PROMPT_VERSION = "fallback-2"
MODEL = "fallback"

BASE = 5
PER_MESSAGE, MAX_MESSAGES = 3, 10
RECENT_DAY, RECENT_WEEK = 15, 8
PER_QUESTION, MAX_QUESTIONS = 3, 5
PER_INTENT, MAX_INTENTS = 8, 4
CONTACT_DETAILS = 15
NEGATIVE = -40
CLOSING = 40
QUALIFIED_AT = 60

_INTENT = keywords.everywhere(keywords.INTENT)
_NEGATIVE = keywords.everywhere(keywords.NEGATIVE)
_CLOSING = keywords.everywhere(keywords.CLOSING)
_PHONE = re.compile(r"\+?\d[\d\s().\-]{7,}\d")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class Signal:
    name: str
    points: int


def _has_phone(text: str) -> bool:
    # At least nine digits: enough for a phone number, more than a date or a price.
    return any(sum(c.isdigit() for c in m.group()) >= 9 for m in _PHONE.finditer(text))


def _outcome(texts: Sequence[str]) -> LeadStatus | None:
    """WON or LOST from the latest customer message that carries a closing or negative phrase."""
    for text in reversed(texts):
        closing, negative = _CLOSING.search(text), _NEGATIVE.search(text)
        if closing or negative:
            # Within one message, the phrase said last wins ("too expensive... ok, paid").
            if closing and negative:
                return "WON" if closing.start() > negative.start() else "LOST"
            return "WON" if closing else "LOST"
    return None


def signals(messages: Sequence[ChatMessage], *, now: datetime) -> tuple[list[Signal], LeadStatus]:
    """Every signal that fired with its points, and the status they imply."""
    customer = [m for m in messages if not m.from_page]
    texts = [m.text or "" for m in customer]
    joined = "\n".join(texts)
    found = [Signal("customer messages", min(len(customer), MAX_MESSAGES) * PER_MESSAGE)]
    if customer:
        age = now - max(m.sent_at for m in customer)
        if age <= timedelta(days=1):
            found.append(Signal("last customer message within a day", RECENT_DAY))
        elif age <= timedelta(days=7):
            found.append(Signal("last customer message within a week", RECENT_WEEK))
    # "¿Cuánto?" is one question, not two.
    questions = sum(max(t.count("?"), t.count("¿")) for t in texts)
    if questions:
        found.append(Signal(f"questions ({questions})", min(questions, MAX_QUESTIONS) * PER_QUESTION))
    intents = sorted({m.group().lower() for m in _INTENT.finditer(joined)})
    if intents:
        found.append(Signal(f"buying intent ({', '.join(intents[:MAX_INTENTS])})",
                            min(len(intents), MAX_INTENTS) * PER_INTENT))
    if _has_phone(joined) or _EMAIL.search(joined):
        found.append(Signal("contact details shared", CONTACT_DETAILS))
    outcome = _outcome(texts)
    if outcome == "LOST":
        found.append(Signal("negative signal", NEGATIVE))
    elif outcome == "WON":
        found.append(Signal("closing signal", CLOSING))
    if outcome is not None:
        return found, outcome
    total = _total(found)
    if total >= QUALIFIED_AT:
        return found, "QUALIFIED"
    return found, "CONTACTED" if any(m.from_page for m in messages) else "NEW"


def _total(found: Sequence[Signal]) -> int:
    return max(1, min(100, BASE + sum(s.points for s in found)))


def recommend(stages: Sequence[Stage], score: int, status: LeadStatus) -> str:
    """The stage name a rule-based scorer would suggest (the assigner decides for real)."""
    wanted = {"WON": ("WON",), "LOST": ("LOST",)}.get(status, ("LEAD", "IN_PROGRESS"))
    for stage in stages:
        if stage.type in wanted and (
            status in ("WON", "LOST") or stage.lead_score_min <= score <= stage.lead_score_max
        ):
            return stage.name
    return ""


def score(
    messages: Sequence[ChatMessage], *, now: datetime, stages: Sequence[Stage] = ()
) -> Analysis:
    """Score a transcript; the same transcript, stages and `now` always give the same result."""
    found, status = signals(messages, now=now)
    total = _total(found)
    customer = sum(1 for m in messages if not m.from_page)
    fired = [s for s in found if s.points]
    reasoning = "; ".join(f"{s.name} {s.points:+d}" for s in fired)
    reasoning = f"base +{BASE}" + (f"; {reasoning}" if reasoning else "") + f" = {total}"
    return Analysis(
        lead_score=total,
        lead_status=status,
        recommended_stage=recommend(stages, total, status),
        summary=f"Rule-based score from {customer} customer message(s); status {status}.",
        reasoning=reasoning,
        # Keyword rules are a rough guide: confidence stays low, a little higher with more evidence.
        confidence=min(40, 15 + 5 * len(fired)),
        used_fallback=True,
        model=MODEL,
        prompt_version=PROMPT_VERSION,
    )
