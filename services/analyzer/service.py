"""The analyzer assembled from its settings: the conversation.updated consumer, its scorer (LLM
or fallback, with a shadow candidate), and the contact-name lookups."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import httpx
from asyncpg import Pool

from services.analyzer.consumer import Analyzer, Limits, NameLookup
from services.analyzer.llm import LlmScorer
from services.analyzer.names import NameWriter
from services.analyzer.prompt import PROMPT_VERSION
from services.analyzer.scorer import Candidate, Scorer
from services.analyzer.settings import AnalyzerSettings
from shared import logging
from shared.broker import Publisher
from shared.errors import UnknownVersion
from shared.messages import ConversationUpdated
from shared.profiles import Profiles
from shared.runtime import Service, Stack, consumer_for, pool_for, publisher_for
from shared.settings import ConfigError


@dataclass(kw_only=True)
class AnalyzerService(Service):
    """The analyzer's `Service`, with its handler (tests and benchmarks look into it)."""

    analyzer: Analyzer


def scorer(settings: AnalyzerSettings) -> Scorer:
    """The scorer, with its shadow candidate; a candidate it cannot use stops the service."""
    shadow = None
    if settings.shadow_prompt_version or settings.shadow_model:
        shadow = Candidate(settings.shadow_prompt_version or PROMPT_VERSION, settings.shadow_model)
    llm = LlmScorer.from_settings(settings) if settings.llm_enabled else None
    try:
        return Scorer(llm, shadow=shadow)
    except UnknownVersion as err:
        print(f"leadsync: configuration error: LEADSYNC_SHADOW_*: {err}", file=sys.stderr)
        raise ConfigError(1) from None


async def build(
    settings: AnalyzerSettings,
    stack: Stack,
    *,
    pool: Pool | None = None,
    publisher: Publisher | None = None,
    names: NameLookup | None = None,
) -> AnalyzerService:
    """The analyzer; a pool or publisher not given is opened here, and everything opened is
    closed by `stack`. `names` replaces the Graph name lookups (tests pass their own)."""
    log = logging.get_logger("leadsync.analyzer")
    if settings.llm_enabled:
        log.info("analyzer.llm", **settings.llm_summary())
    else:
        log.info("analyzer.fallback_only", reason="OPENAI_API_KEY is not set")
    scoring = scorer(settings)
    if scoring.shadow is not None:
        log.info(
            "analyzer.shadow",
            prompt_version=scoring.shadow.prompt_version,
            model=scoring.shadow.model or settings.llm_model,
        )
    pool = await pool_for(settings, stack, pool)
    publisher = publisher_for(settings, stack, publisher)
    stack.push_async_callback(scoring.close)
    if names is None:
        http = httpx.AsyncClient(timeout=httpx.Timeout(10, connect=3))
        stack.push_async_callback(http.aclose)
        writer = NameWriter(pool)
        stack.push_async_callback(writer.close)
        profiles = Profiles.from_settings(
            settings, pool, http, timeout_s=settings.names_timeout_s, on_name=writer.add
        )
        if profiles is not None:
            stack.push_async_callback(profiles.close)
            names = profiles.known
    analyzer = Analyzer(
        pool=pool, publisher=publisher, scorer=scoring, limits=Limits.from_settings(settings), names=names
    )
    budget = settings.analyzer_max_bytes_in_flight
    consumer = consumer_for(
        settings,
        "analyzer",
        ConversationUpdated,
        analyzer.handle,
        pool,
        settings.prefetch,
        on_final_failure=analyzer.on_final_failure,
        max_bytes_in_flight=budget,
    )
    return AnalyzerService(consumer, pool, analyzer=analyzer)
