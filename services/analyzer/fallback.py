"""The deterministic, explainable fallback scorer (DESIGN §7.6): signals, their points and the
messages that fired them, read from the per-language rule tables. No I/O, no clock, no logging.

How a transcript is scored:
- The strongest buying signal sets the level (asked about the product, the price or delivery →
  CURIOUS; wants to order, asks how to pay, shares contact details → COMMITTED; says they paid →
  CLAIMED); every further kind of signal adds EXTRA; engagement adds a little; a price objection
  or hesitation takes some away.
- WON only when a page message confirms the payment or the order (an acknowledgement such as
  "received" counts only right after the customer said they paid); a customer's own claim stays
  QUALIFIED, held inside the open bands.
- LOST only on an explicit refusal or closing by either side, not negated, not undone by a later
  buying signal; after a confirmed sale only a cancellation (or refund) undoes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.analyzer.keywords import Hit, read
from shared.messages import Analysis, ChatMessage, LeadStatus, ScoreSignal
from shared.vocabulary import Stage, StageType

PROMPT_VERSION = "fallback-3"
MODEL = "fallback"

BASE = 10
PER_MESSAGE, MAX_MESSAGES = 1, 5
RECENT_DAY, RECENT_WEEK = 3, 1
PER_QUESTION, MAX_QUESTIONS = 1, 3
# Levels set by the strongest signal; each further kind of signal adds EXTRA, at most MAX_EXTRAS.
CURIOUS, COMMITTED, CLAIMED = 35, 58, 72
EXTRA, MAX_EXTRAS = 3, 3
OBJECTION, HESITATION, RENEWED = -15, -4, -10
CONFIRMED, CLOSED = 40, -40
# DESIGN §7.2's default bands: QUALIFIED from HOT_AT (the upper IN_PROGRESS stage); never in the
# Won band (81+) without a page confirmation; a WON at least WON_MIN; a LOST at most LOST_MAX
# (under the downgrade guard's 50, so a LOST analysis can leave a hot stage). A customer still
# deciding after their last commitment ("I'll take it... let me think") stays below HOT_AT.
HOT_AT, OPEN_MAX, WON_MIN, LOST_MAX = 56, 80, 81, 20
MAX_PHRASES = 3  # phrases quoted per signal

# Kinds of buying signal, strongest first: (kind, how the signal reads, level; 0 = extra only).
KINDS: tuple[tuple[str, str, int], ...] = (
    ("claim", "customer says paid, not confirmed", CLAIMED),
    ("intent", "buying intent", COMMITTED),
    ("payment", "asked how to pay", COMMITTED),
    ("contact", "contact details shared", COMMITTED),
    ("pending", "payment pending: not paid yet", CURIOUS),
    ("price", "asked the price", CURIOUS),
    ("interest", "asked about the product", CURIOUS),
    ("delivery", "asked about delivery", CURIOUS),
    ("unrefused", "negated refusal: still interested", CURIOUS),  # "don't stop sending offers"
    ("quantity", "quantity", 0),
    ("date", "a date", 0),
    ("ad", "replied to an ad", 0),
)
_LEVEL = {kind: level for kind, _, level in KINDS}
_CLOSING = ("cancel", "refusal")
_QUESTION_OK = ("price", "interest", "delivery", "payment", "intent")  # "¿no tienen...?" still asks


@dataclass
class _Evidence:
    """Messages and phrases behind one signal, in transcript order, without repeats."""

    mids: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)

    def add(self, mid: str, phrase: str) -> None:
        if mid not in self.mids:
            self.mids.append(mid)
        phrase = phrase.strip()
        if phrase.casefold() not in (p.casefold() for p in self.phrases):
            self.phrases.append(phrase)

    def label(self, name: str) -> str:
        return f"{name} ({', '.join(self.phrases[:MAX_PHRASES])})" if self.phrases else name


Position = tuple[int, int]  # (message index, offset): order of events in the conversation


@dataclass
class _Walk:
    """What reading the conversation in order found."""

    kinds: dict[str, _Evidence] = field(default_factory=dict)
    objection: _Evidence = field(default_factory=_Evidence)
    hesitation: _Evidence = field(default_factory=_Evidence)
    negated: _Evidence = field(default_factory=_Evidence)
    confirmations: list[str] = field(default_factory=list)  # page mids, in order
    confirmed: tuple[Position, _Evidence] | None = None  # the latest confirmation
    closed: tuple[Position, _Evidence] | None = None  # the latest refusal or closing
    cancelled: Position | None = None  # the latest cancellation or page closing
    renewed: Position | None = None  # the latest customer buying signal
    committed: Position | None = None  # the latest commitment or claim
    hesitated: Position | None = None  # the latest hesitation

    @property
    def deciding(self) -> bool:
        """Hesitated after the last commitment (or never committed)."""
        return self.hesitated is not None and (self.committed is None or self.hesitated > self.committed)

    def kind(self, name: str) -> _Evidence:
        return self.kinds.setdefault(name, _Evidence())


def _walk(messages: Sequence[ChatMessage]) -> _Walk:
    walk = _Walk()
    claims: list[str] = []  # customer claims not yet acknowledged by the page
    for index, message in enumerate(messages):
        if message.deleted:
            continue
        if message.from_page:
            hits = [
                h
                for h in read(message.text or "", "page").hits
                if not (h.negated or h.conditional or h.question)
            ]
            checking = any(h.category == "checking" for h in hits)  # "Received, we'll verify"
            for hit in hits:
                position = (index, hit.start)
                if hit.category == "confirmation" or (
                    hit.category == "ack" and hit.alone and claims and not checking
                ):
                    evidence = _Evidence([*claims], [])
                    evidence.add(message.mid, hit.text)
                    walk.confirmed = (position, evidence)
                    if message.mid not in walk.confirmations:
                        walk.confirmations.append(message.mid)
                    claims = []
                elif hit.category == "closing":
                    evidence = _Evidence()
                    evidence.add(message.mid, hit.text)
                    walk.closed, walk.cancelled = (position, evidence), position
            continue
        reading = read(message.text or "", "customer")
        for hit in reading.hits:
            _customer_hit(walk, claims, index, message.mid, hit)
        for kind in reading.contacts:
            walk.kind("contact").add(message.mid, kind)
            walk.renewed = walk.committed = (index, len(message.text or ""))
        if "ad_referral" in message.attachments:
            walk.kind("ad").add(message.mid, "ad")
    return walk


def _customer_hit(walk: _Walk, claims: list[str], index: int, mid: str, hit: Hit) -> None:
    position = (index, hit.start)
    category = hit.category
    if category in _CLOSING and hit.negated:
        category = "unrefused"  # "don't stop sending offers", "ce n'est pas que ça ne m'intéresse pas"
    elif category in ("objection", "hesitation") and hit.negated:
        walk.negated.add(mid, hit.text)  # "no es caro", "not too expensive"
        return
    if category in (*_CLOSING, "claim", "objection") and hit.conditional:
        return  # "if it's late I'll cancel", "once I've paid ...", "if it's too expensive ..."
    if category in _CLOSING:
        evidence = _Evidence()
        evidence.add(mid, hit.text)
        walk.closed = (position, evidence)
        if category == "cancel":
            walk.cancelled = position
        return
    if category in ("objection", "hesitation"):
        getattr(walk, category).add(mid, hit.text)
        if category == "hesitation":
            walk.hesitated = position
        return
    if category == "claim":
        category = "pending" if hit.negated else "claim"  # "I have not paid yet"
        if category == "claim":
            claims.append(mid)
    elif category == "address":
        category = "contact"
    elif (
        hit.negated
        and category not in ("pending", "unrefused")
        and not (hit.question and category in _QUESTION_OK)
    ):
        walk.negated.add(mid, hit.text)  # "I don't need delivery", "não quero comprar agora"
        return
    walk.kind(category).add(mid, "address" if category == "contact" else hit.text)
    walk.renewed = position
    if _LEVEL[category] >= COMMITTED:
        walk.committed = position


def _status(walk: _Walk) -> LeadStatus | None:
    """WON, LOST, or None when the conversation is still open."""
    if walk.confirmed and not (walk.cancelled and walk.cancelled > walk.confirmed[0]):
        return "WON"
    if walk.closed and not (walk.renewed and walk.renewed > walk.closed[0]):
        return "LOST"
    return None


def _engagement(messages: Sequence[ChatMessage], now: datetime) -> list[ScoreSignal]:
    customer = [m for m in messages if not m.from_page and not m.deleted]
    counted = customer[-MAX_MESSAGES:]
    out = [
        ScoreSignal(
            signal=f"customer messages ({len(customer)})",
            points=len(counted) * PER_MESSAGE,
            mids=[m.mid for m in counted],
        )
    ]
    if customer:
        last = max(customer, key=lambda m: m.sent_at)
        age = now - last.sent_at
        if age <= timedelta(days=1):
            out.append(
                ScoreSignal(signal="last customer message within a day", points=RECENT_DAY, mids=[last.mid])
            )
        elif age <= timedelta(days=7):
            out.append(
                ScoreSignal(signal="last customer message within a week", points=RECENT_WEEK, mids=[last.mid])
            )
    asking = [m for m in customer if _questions(m.text or "")]
    questions = sum(_questions(m.text or "") for m in asking)
    if questions:
        out.append(
            ScoreSignal(
                signal=f"questions ({questions})",
                points=min(questions, MAX_QUESTIONS) * PER_QUESTION,
                mids=[m.mid for m in asking],
            )
        )
    return out


def _questions(text: str) -> int:
    # "¿Cuánto?" is one question, not two; a fullwidth question mark (U+FF1F) is one too.
    return max(text.count("?") + text.count("\uff1f"), text.count("\u00bf"))


def _buying(walk: _Walk, status: LeadStatus | None) -> list[ScoreSignal]:
    present = [(kind, name, level) for kind, name, level in KINDS if kind in walk.kinds]
    if not present:
        return []
    top = max(level for _, _, level in present)
    out, extras, primary_done = [], 0, top == 0  # extras alone set no level
    for kind, name, level in present:
        if kind == "claim" and status == "WON":
            name = "customer says paid"
        if level == top and not primary_done:
            points, primary_done = level - BASE, True
        else:
            points = EXTRA if extras < MAX_EXTRAS else 0
            extras += 1
        evidence = walk.kinds[kind]
        out.append(ScoreSignal(signal=evidence.label(name), points=points, mids=evidence.mids))
    return out


def _drags(walk: _Walk, status: LeadStatus | None) -> list[ScoreSignal]:
    out = []
    for evidence, name, points in (
        (walk.objection, "price objection", OBJECTION),
        (walk.hesitation, "hesitation", HESITATION),
    ):
        if evidence.mids:
            out.append(ScoreSignal(signal=evidence.label(name), points=points, mids=evidence.mids))
    if walk.closed and status is None:
        evidence = walk.closed[1]
        out.append(
            ScoreSignal(
                signal=evidence.label("refusal, then renewed interest"), points=RENEWED, mids=evidence.mids
            )
        )
    if walk.negated.mids:
        out.append(
            ScoreSignal(signal=walk.negated.label("negated, not counted"), points=0, mids=walk.negated.mids)
        )
    return out


def _settle(walk: _Walk, status: LeadStatus | None, total: int) -> tuple[int, ScoreSignal | None]:
    """The final score for the status, and the signal that moves the running total there."""
    if status == "WON" and walk.confirmed:
        final = max(WON_MIN, min(100, total + CONFIRMED))
        evidence = walk.confirmed[1]
        return final, ScoreSignal(
            signal=evidence.label("page confirmed the payment or order"),
            points=final - total,
            mids=evidence.mids,
        )
    if status == "LOST" and walk.closed:
        final = max(1, min(LOST_MAX, total + CLOSED))
        evidence = walk.closed[1]
        return final, ScoreSignal(
            signal=evidence.label("refusal or closing"), points=final - total, mids=evidence.mids
        )
    ceiling = HOT_AT - 1 if walk.deciding else OPEN_MAX
    final = max(1, min(ceiling, total))
    if final == total:
        return final, None
    if total < final:
        name = "floor of 1"
    elif walk.deciding:
        name = "still deciding: held below Hot"
    else:
        name = "held below the Won band: no page confirmation"
    return final, ScoreSignal(signal=name, points=final - total)


@dataclass(frozen=True)
class Scored:
    """The fallback's verdict: status, score, and the signals that add up to it (base included)."""

    status: LeadStatus
    score: int
    signals: tuple[ScoreSignal, ...]
    headline: str


def assess(messages: Sequence[ChatMessage], *, now: datetime) -> Scored:
    """Read the transcript and decide; `score` wraps this into an Analysis."""
    walk = _walk(messages)
    terminal = _status(walk)
    signals = [
        ScoreSignal(signal="base", points=BASE),
        *_engagement(messages, now),
        *_buying(walk, terminal),
        *_drags(walk, terminal),
    ]
    total = sum(s.points for s in signals)
    final, settled = _settle(walk, terminal, total)
    if settled is not None:
        signals.append(settled)
    if terminal is not None:
        status: LeadStatus = terminal
    elif final >= HOT_AT:
        status = "QUALIFIED"
    else:
        status = "CONTACTED" if any(m.from_page for m in messages) else "NEW"
    return Scored(status, final, tuple(signals), _headline(walk, terminal))


def _headline(walk: _Walk, status: LeadStatus | None) -> str:
    if status == "WON":
        return "the page confirmed the payment or order"
    if status == "LOST":
        return "an explicit refusal or closing"
    for kind, name, _ in KINDS:
        if kind in walk.kinds:
            return name
    return "no buying signal"


def confirmation_mids(messages: Sequence[ChatMessage]) -> list[str]:
    """The page-side messages that confirm a payment or an order, oldest first.

    A page message confirms when it says the payment was received or the order (booking,
    reservation, appointment) is confirmed, placed or shipped, in any supported language —
    "Payment received", "Pedido confirmado", "Pembayaran sudah kami terima" — and is neither
    negated ("we haven't received your payment"), conditional ("once we receive it, your order
    is confirmed") nor a question. A bare acknowledgement ("Received po", "Recibido, ¡gracias!")
    confirms only after the customer said they paid. Customer messages never confirm. An empty
    list means no WON is allowed: a claim such as "I paid" alone is not enough.
    """
    return list(_walk(messages).confirmations)


def page_may_decide(messages: Sequence[ChatMessage]) -> bool:
    """Whether these page messages could settle the deal: one of them reads as a confirmation, an
    acknowledgement or a closing (not negated, conditional or a question). The analyzer scores
    such page replies at once instead of waiting for the customer's next message."""
    return any(
        hit.category in ("confirmation", "ack", "closing")
        and not (hit.negated or hit.conditional or hit.question)
        for m in messages
        if m.from_page and not m.deleted
        for hit in read(m.text or "", "page").hits
    )


def recommend(stages: Sequence[Stage], score: int, status: LeadStatus) -> str:
    """The stage name a rule-based scorer would suggest (the assigner decides for real)."""
    wanted = {"WON": (StageType.WON,), "LOST": (StageType.LOST,)}.get(
        status, (StageType.LEAD, StageType.IN_PROGRESS)
    )
    for stage in stages:
        if stage.type in wanted and (
            stage.type in (StageType.WON, StageType.LOST)
            or stage.lead_score_min <= score <= stage.lead_score_max
        ):
            return stage.name
    return ""


def score(messages: Sequence[ChatMessage], *, now: datetime, stages: Sequence[Stage] = ()) -> Analysis:
    """Score a transcript; the same transcript, stages and `now` always give the same result."""
    scored = assess(messages, now=now)
    fired = [s for s in scored.signals if s.points and s.signal != "base"]
    reasoning = "; ".join(f"{s.signal} {s.points:+d}" for s in scored.signals)
    customer = sum(1 for m in messages if not m.from_page)
    cited = {mid for s in scored.signals if s.points for mid in s.mids}
    evidence = [m.mid for m in messages if m.mid in cited]  # transcript order
    return Analysis(
        lead_score=scored.score,
        lead_status=scored.status,
        recommended_stage=recommend(stages, scored.score, scored.status),
        summary=(
            f"Rule-based: {scored.headline}; {customer} customer message(s); "
            f"status {scored.status}, score {scored.score}."
        ),
        reasoning=f"{reasoning} = {scored.score}",
        # Keyword rules are a rough guide: confidence stays low, a little higher with more evidence.
        confidence=min(40, 15 + 5 * len(fired)),
        used_fallback=True,
        model=MODEL,
        prompt_version=PROMPT_VERSION,
        signals=list(scored.signals),
        evidence=evidence,
    )
