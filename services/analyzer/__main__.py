"""`python -m services.analyzer`: consume conversation.updated.* and publish contact.scored."""

from __future__ import annotations

import asyncio
import contextlib
import sys

import httpx

from services.analyzer.consumer import Analyzer, Limits
from services.analyzer.llm import LlmScorer
from services.analyzer.names import NameWriter
from services.analyzer.prompt import PROMPT_VERSION
from services.analyzer.scorer import Candidate, Scorer, UnknownVersion
from services.analyzer.settings import DEFAULT_METRICS_PORT, AnalyzerSettings
from shared import db, logging
from shared.broker import CONSUMER_CONFIRM_TIMEOUT, Consumer, Probe, Publisher, Topology
from shared.messages import ConversationUpdated
from shared.profiles import Profiles
from shared.runtime import run, serve_consumer
from shared.settings import ConfigError, load


def limits(settings: AnalyzerSettings) -> Limits:
    return Limits(
        debounce_s=settings.analyzer_debounce_s,
        max_messages=settings.transcript_max_messages,
        token_budget=settings.transcript_token_budget,
        hold_s=settings.analyzer_hold_s,
        rescore_concurrency=settings.llm_concurrency,
        analyses_in_flight=max(64, 4 * settings.llm_concurrency),
        connected_cache_s=settings.analyzer_connected_cache_s,
    )


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


def consumer(
    settings: AnalyzerSettings, analyzer: Analyzer, *, probe: Probe | None = None
) -> Consumer[ConversationUpdated]:
    return Consumer(
        amqp_url=settings.amqp_url.get_secret_value(),
        topology=Topology(settings.broker_namespace),
        service="analyzer",
        model=ConversationUpdated,
        handler=analyzer.handle,
        prefetch=settings.prefetch,
        max_bytes_in_flight=settings.analyzer_max_bytes_in_flight,
        on_final_failure=analyzer.on_final_failure,
        probe=probe,
        retry_budget_s=settings.retry_budget_s,
    )


async def main(stop: asyncio.Event) -> None:
    settings = load(AnalyzerSettings)
    logging.configure(
        service="analyzer", fmt=settings.log_format, level=settings.log_level,
        secrets=settings.secrets(),
    )
    log = logging.get_logger("leadsync.analyzer")
    if settings.llm_enabled:
        log.info("analyzer.llm", model=settings.llm_model, concurrency=settings.llm_concurrency,
                 rpm=settings.llm_rpm, tpm=settings.llm_tpm, max_tokens=settings.llm_max_tokens)
    else:
        log.info("analyzer.fallback_only", reason="OPENAI_API_KEY is not set")
    scoring = scorer(settings)
    if scoring.shadow is not None:
        log.info("analyzer.shadow", prompt_version=scoring.shadow.prompt_version,
                 model=scoring.shadow.model or settings.llm_model)
    async with contextlib.AsyncExitStack() as stack:
        pool = await db.create_pool(settings.database_url, min_size=0)
        stack.push_async_callback(pool.close)
        publisher = Publisher(settings.amqp_url.get_secret_value(),
                              Topology(settings.broker_namespace), timeout=CONSUMER_CONFIRM_TIMEOUT)
        stack.push_async_callback(publisher.close)
        stack.push_async_callback(scoring.close)
        http = httpx.AsyncClient(timeout=httpx.Timeout(10, connect=3))
        stack.push_async_callback(http.aclose)
        names = NameWriter(pool)
        stack.push_async_callback(names.close)
        profiles = Profiles.from_settings(settings, pool, http, timeout_s=settings.names_timeout_s,
                                          on_name=names.add)
        if profiles is not None:
            stack.push_async_callback(profiles.close)
        analyzer = Analyzer(
            pool=pool, publisher=publisher, scorer=scoring, limits=limits(settings),
            names=profiles.known if profiles is not None else None,
        )

        async def database() -> bool:
            return await pool.fetchval("SELECT 1") == 1

        service = consumer(settings, analyzer, probe=database)

        async def broker() -> bool:
            return service.connected

        await serve_consumer(
            service, stop=stop, port=settings.metrics_port_or(DEFAULT_METRICS_PORT),
            checks={"broker": broker, "database": database},
        )


if __name__ == "__main__":
    run(main)
