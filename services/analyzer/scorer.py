"""Scores a conversation: the LLM when configured, the fallback scorer when it is not or it fails."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog
from prometheus_client import Counter

from services.analyzer import fallback
from services.analyzer.llm import LlmFailed, LlmScorer
from services.analyzer.prompt import Stage
from shared.messages import Analysis, ChatMessage

FALLBACKS = Counter(
    "leadsync_analyzer_fallbacks_total",
    "Analyses made by the fallback scorer, by reason (no_llm, or the LLM's last failure).",
    ["reason"],
)

log = structlog.get_logger("leadsync.analyzer")


class Scorer:
    """One entry point for scoring; never raises for an LLM problem, the fallback answers instead."""

    def __init__(self, llm: LlmScorer | None) -> None:
        self.llm = llm

    async def score(
        self, messages: Sequence[ChatMessage], stages: Sequence[Stage], *, now: datetime
    ) -> Analysis:
        if self.llm is None:
            FALLBACKS.labels("no_llm").inc()
            return fallback.score(messages, now=now, stages=stages)
        try:
            return await self.llm.analyse(messages, stages)
        except LlmFailed as err:
            FALLBACKS.labels(err.reason).inc()
            log.warning("llm.fallback", reason=err.reason)
            return fallback.score(messages, now=now, stages=stages)

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.close()
