"""The terminal-status guard (DESIGN §7.6), applied to every analysis whichever scorer made it (pure).

WON stands only with the business's confirmation in a page message (the fallback's detector,
`fallback.confirmation_mids`, reads the page's words); a customer's claim alone is QUALIFIED with a
high score and a signal saying so. LOST stands only when the transcript holds an
explicit refusal or closing, as the deterministic reading (the fallback scorer, which reads
negation) finds it: a model answering LOST to "please don't stop sending offers" is overruled.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.messages import Analysis, ChatMessage, LeadStatus, ScoreSignal

CLAIM = "customer says paid, not confirmed"
NO_REFUSAL = "LOST without an explicit refusal or closing: the lead stays open"
# A claimed payment is a hot lead, whatever score came with it, but never in the Won band (81+ by
# §7.2) without the page's word: the same levels the fallback scorer holds a claim to.
CLAIMED_FLOOR, OPEN_MAX = 72, 80
QUALIFIED_AT = 60
MAX_REASONING = 1000


def _open_status(score: int, messages: Sequence[ChatMessage]) -> LeadStatus:
    if score >= QUALIFIED_AT:
        return "QUALIFIED"
    return "CONTACTED" if any(m.from_page for m in messages) else "NEW"


def _note(analysis: Analysis, note: str) -> str:
    return f"{note}. {analysis.reasoning}"[:MAX_REASONING] if analysis.reasoning else note


def guard(
    analysis: Analysis,
    messages: Sequence[ChatMessage],
    *,
    confirmations: Sequence[str],
    refusal: Analysis | None = None,
) -> Analysis:
    """The analysis with WON and LOST kept only where the transcript supports them.

    `confirmations`: mids of page messages that confirm a payment or an order.
    `refusal`: the deterministic reading of the same transcript; LOST stands when it is LOST too
    (None: `analysis` is that reading itself).
    """
    if analysis.lead_status == "WON" and not confirmations:
        page = {m.mid for m in messages if m.from_page}
        claims = [mid for mid in analysis.evidence if mid not in page]
        return analysis.model_copy(
            update={
                "lead_status": "QUALIFIED",
                "lead_score": min(OPEN_MAX, max(analysis.lead_score, CLAIMED_FLOOR)),
                "signals": [*analysis.signals, ScoreSignal(signal=CLAIM, points=0, mids=claims)],
                "reasoning": _note(analysis, f"Not WON: {CLAIM}"),
            }
        )
    if analysis.lead_status == "WON":
        evidence = list(dict.fromkeys([*analysis.evidence, *confirmations]))
        return analysis.model_copy(update={"evidence": evidence})
    if analysis.lead_status == "LOST" and refusal is not None:
        if refusal.lead_status != "LOST":
            return analysis.model_copy(
                update={
                    "lead_status": _open_status(analysis.lead_score, messages),
                    "signals": [
                        *analysis.signals,
                        ScoreSignal(signal=NO_REFUSAL, points=0, mids=list(analysis.evidence)),
                    ],
                    "reasoning": _note(analysis, f"Not LOST: {NO_REFUSAL}"),
                }
            )
        evidence = list(dict.fromkeys([*analysis.evidence, *refusal.evidence]))
        return analysis.model_copy(update={"evidence": evidence})
    return analysis
