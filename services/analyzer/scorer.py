"""Scores a conversation: the LLM when configured, the fallback scorer when it is not or it fails.

Every analysis, whichever path made it, goes through the terminal-status guard (WON needs a page
confirmation, LOST an explicit refusal). A RESCORE job may name another prompt version (or the
fallback's); shadow scoring scores the same transcript with a candidate prompt or model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from prometheus_client import Counter

from services.analyzer import fallback, prompt
from services.analyzer.guard import guard
from services.analyzer.llm import LlmScorer
from shared.errors import LlmFailed, UnknownVersion
from shared.messages import Analysis, ChatMessage
from shared.vocabulary import Stage

log = structlog.get_logger("leadsync.analyzer")

FALLBACKS = Counter(
    "leadsync_analyzer_fallbacks_total",
    "Analyses made by the fallback scorer, by reason (no_llm, or the LLM's last failure).",
    ["reason"],
)
SHADOW_FAILURES = Counter(
    "leadsync_analyzer_shadow_failures_total",
    "Shadow analyses not made because the candidate's LLM calls failed (no shadow row then).",
    ["reason"],
)


@dataclass(frozen=True)
class Candidate:
    """What shadow scoring compares with the live scorer: a prompt version and/or a model."""

    prompt_version: str
    model: str | None = None


class Scorer:
    """One entry point for scoring; never raises for an LLM problem, the fallback answers instead."""

    def __init__(self, llm: LlmScorer | None, *, shadow: Candidate | None = None) -> None:
        self.llm = llm
        self.shadow = shadow
        if shadow is not None:
            self.check(shadow.prompt_version)
            if shadow.model is not None and llm is None:
                raise UnknownVersion("a shadow model needs the LLM (OPENAI_API_KEY is not set)")

    def versions(self) -> list[str]:
        """The prompt versions this scorer can use: the LLM's (when configured) and the fallback's."""
        return [*(prompt.VERSIONS if self.llm is not None else ()), fallback.PROMPT_VERSION]

    def check(self, version: str | None) -> None:
        if version is not None and version not in self.versions():
            known = ", ".join(self.versions())
            needs = " (it needs the LLM: OPENAI_API_KEY is not set)" if version in prompt.VERSIONS else ""
            raise UnknownVersion(f"unknown prompt version {version[:100]!r}{needs}; known: {known}")

    async def score(
        self,
        messages: Sequence[ChatMessage],
        stages: Sequence[Stage],
        *,
        now: datetime,
        version: str | None = None,
    ) -> Analysis:
        """The live analysis, or one made with `version` (raises UnknownVersion)."""
        self.check(version)
        if self.llm is None or version == fallback.PROMPT_VERSION:
            if self.llm is None:
                FALLBACKS.labels("no_llm").inc()
            return self._fallback(messages, stages, now)
        try:
            analysis = await self.llm.analyse(messages, stages, version=version or prompt.PROMPT_VERSION)
        except LlmFailed as err:
            FALLBACKS.labels(err.reason).inc()
            log.warning("llm.fallback", reason=err.reason)
            return self._fallback(messages, stages, now)
        return self._guarded(analysis, messages, stages, now)

    async def score_shadow(
        self, messages: Sequence[ChatMessage], stages: Sequence[Stage], *, now: datetime
    ) -> Analysis | None:
        """The candidate's analysis, or None (no candidate, or its LLM failed: no fallback here,
        a fallback result would only blur the comparison)."""
        if self.shadow is None:
            return None
        if self.shadow.prompt_version == fallback.PROMPT_VERSION or self.llm is None:
            return self._fallback(messages, stages, now)
        try:
            analysis = await self.llm.analyse(
                messages, stages, version=self.shadow.prompt_version, model=self.shadow.model
            )
        except LlmFailed as err:
            SHADOW_FAILURES.labels(err.reason).inc()
            return None
        return self._guarded(analysis, messages, stages, now)

    def _fallback(self, messages: Sequence[ChatMessage], stages: Sequence[Stage], now: datetime) -> Analysis:
        analysis = fallback.score(messages, now=now, stages=stages)
        return guard(analysis, messages, confirmations=fallback.confirmation_mids(messages))

    def _guarded(
        self, analysis: Analysis, messages: Sequence[ChatMessage], stages: Sequence[Stage], now: datetime
    ) -> Analysis:
        reading = fallback.score(messages, now=now, stages=stages) if analysis.lead_status == "LOST" else None
        return guard(analysis, messages, confirmations=fallback.confirmation_mids(messages), refusal=reading)

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.close()
