"""The deterministic, explainable fallback scorer (DESIGN §7.6): points per signal, no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.messages import Analysis, ChatMessage

PROMPT_VERSION = "fallback-1"
MODEL = "fallback"

_CLOSING = re.compile(
    r"\b(paid|payment sent|order confirmed|transferred|pagado|pago enviado|pedido confirmado|"
    r"paguei|pagamento enviado|payé|paiement envoyé|nagbayad|bayad na|sudah bayar|sudah transfer)\b",
    re.IGNORECASE,
)
_NEGATIVE = re.compile(
    r"\b(not interested|too expensive|unsubscribe|stop|bought elsewhere|no thanks|"
    r"no me interesa|muy caro|não tenho interesse|muito caro|pas intéressé|trop cher|"
    r"hindi interesado|mahal masyado|tidak tertarik|terlalu mahal)\b",
    re.IGNORECASE,
)
_INTENT = re.compile(
    r"\b(price|how much|cost|available|availability|book|booking|order|buy|deliver|delivery|"
    r"shipping|pay|payment|precio|cuánto|cuanto|disponible|reservar|pedido|comprar|envío|"
    r"preço|quanto|disponível|reserva|encomenda|entrega|prix|combien|disponible|réserver|"
    r"commande|livraison|magkano|presyo|available pa|order po|harga|berapa|tersedia|pesan|"
    r"kirim|ongkir)\b",
    re.IGNORECASE,
)
_PHONE = re.compile(r"\+?\d[\d\s().\-]{7,}\d")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+\.[\w.\-]+")


@dataclass(frozen=True)
class Signal:
    name: str
    points: int


def score(messages: Sequence[ChatMessage], *, now: datetime) -> Analysis:
    """Score a transcript; the same transcript and `now` always give the same result."""
    customer = [m for m in messages if not m.from_page]
    texts = [m.text or "" for m in customer]
    joined = "\n".join(texts)
    signals: list[Signal] = []
    signals.append(Signal("customer messages", min(len(customer), 10) * 3))
    if customer:
        age_h = (now - max(m.sent_at for m in customer)).total_seconds() / 3600
        recency = 15 if age_h <= 24 else 8 if age_h <= 24 * 7 else 0
        signals.append(Signal("recent activity", recency))
    questions = sum(t.count("?") for t in texts)
    if questions:
        signals.append(Signal("questions asked", min(questions, 5) * 3))
    intent = len(_INTENT.findall(joined))
    if intent:
        signals.append(Signal("buying intent", min(intent, 4) * 8))
    if _PHONE.search(joined) or _EMAIL.search(joined):
        signals.append(Signal("contact details shared", 15))
    status = "CONTACTED" if customer else "NEW"
    if _NEGATIVE.search(joined):
        signals.append(Signal("negative signal", -40))
        status = "LOST"
    if _CLOSING.search(joined):
        signals.append(Signal("closing signal", 40))
        status = "WON"
    total = max(1, min(100, 5 + sum(s.points for s in signals)))
    if status not in ("WON", "LOST") and total >= 60:
        status = "QUALIFIED"
    reasoning = "; ".join(f"{s.name} {s.points:+d}" for s in signals) + f"; base +5 → {total}"
    return Analysis(
        lead_score=total,
        lead_status=status,  # type: ignore[arg-type]
        recommended_stage="",
        summary=f"{len(customer)} customer message(s); status {status.lower()} by rules",
        reasoning=reasoning,
        confidence=35,
        used_fallback=True,
        model=MODEL,
        prompt_version=PROMPT_VERSION,
    )
