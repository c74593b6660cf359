"""The real openai client against the fake server: every fault ends in a valid Analysis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest

from services.analyzer import prompt
from services.analyzer.llm import LlmScorer
from services.analyzer.scorer import Scorer
from services.analyzer.settings import AnalyzerSettings
from services.analyzer.transcript import estimate_tokens
from shared.messages import ChatMessage
from tests.fakes import llm as fake
from tests.fakes.llm import FakeLLM

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TRANSCRIPT = [ChatMessage(mid="1", text="How much? My number is +63 917 555 0142", sent_at=NOW)]


def scorer_for(llm: FakeLLM, **overrides: object) -> Scorer:
    settings = AnalyzerSettings(
        openai_api_key="sk-test-key-0123456789abcdef",
        openai_base_url=llm.base_url,
        llm_timeout_s=0.3,
        llm_backoff_s=0.01,
        **overrides,
    )
    return Scorer(LlmScorer.from_settings(settings))


async def score(llm: FakeLLM, **overrides: object):
    scorer = scorer_for(llm, **overrides)
    try:
        return await scorer.score(TRANSCRIPT, [], now=NOW)
    finally:
        await scorer.close()


async def test_a_valid_reply_is_the_analysis():
    async with FakeLLM(score=64) as llm:
        analysis = await score(llm)
    assert (analysis.lead_score, analysis.lead_status, analysis.used_fallback) == (64, "QUALIFIED", False)
    assert analysis.model == "gpt-4o-mini" and analysis.prompt_version == "lead-v2"
    request = llm.requests[0]
    assert request["response_format"]["type"] == "json_schema"
    assert request["max_tokens"] == 800  # every request bounds its reply
    transcript = orjson.loads(request["messages"][-1]["content"])
    assert transcript["messages"][0]["speaker"] == "customer"


@pytest.mark.parametrize(
    "fault", [fake.RATE_LIMITED, fake.SERVER_ERROR, fake.HANG, fake.MALFORMED, fake.UNKNOWN_STATUS]
)
async def test_one_fault_is_retried_and_the_next_answer_used(fault):
    async with FakeLLM(script=[fault, fake.OK]) as llm:
        analysis = await score(llm)
    assert not analysis.used_fallback and llm.calls == 2


@pytest.mark.parametrize(
    "fault", [fake.RATE_LIMITED, fake.SERVER_ERROR, fake.HANG, fake.MALFORMED, fake.UNKNOWN_STATUS]
)
async def test_three_faults_end_in_the_fallback(fault):
    async with FakeLLM(script=[fault] * 5) as llm:
        analysis = await score(llm)
    assert analysis.used_fallback and 1 <= analysis.lead_score <= 100
    assert "contact details shared" in analysis.reasoning
    assert llm.calls == 3


async def test_out_of_range_values_are_clamped_not_retried():
    async with FakeLLM(script=[fake.OUT_OF_RANGE]) as llm:
        analysis = await score(llm)
    assert (analysis.lead_score, analysis.confidence, analysis.used_fallback) == (100, 0, False)
    assert llm.calls == 1


async def test_retry_after_is_honoured():
    async with FakeLLM(script=[fake.RATE_LIMITED, fake.OK], retry_after=0.4) as llm:
        await score(llm)
    assert llm.started_at[1] - llm.started_at[0] >= 0.4


async def test_an_unreachable_server_ends_in_the_fallback():
    async with FakeLLM() as llm:
        url = llm.base_url
    scorer = Scorer(
        LlmScorer.from_settings(
            AnalyzerSettings(
                openai_api_key="sk-test-key-0123456789abcdef", openai_base_url=url, llm_backoff_s=0.01
            )
        )
    )
    analysis = await scorer.score(TRANSCRIPT, [], now=NOW)
    await scorer.close()
    assert analysis.used_fallback


async def test_in_flight_calls_never_exceed_the_concurrency():
    async with FakeLLM(latency=0.2) as llm:
        scorer = scorer_for(llm, llm_concurrency=3)
        results = await asyncio.gather(*(scorer.score(TRANSCRIPT, [], now=NOW) for _ in range(12)))
        await scorer.close()
    assert llm.max_in_flight == 3
    assert not any(r.used_fallback for r in results)


async def calls_started_in_one_second(**limits: object) -> int:
    """Start six analyses at once and count the LLM calls that began within a second."""
    async with FakeLLM() as llm:
        scorer = scorer_for(llm, **limits)
        tasks = [asyncio.ensure_future(scorer.score(TRANSCRIPT, [], now=NOW)) for _ in range(6)]
        await asyncio.sleep(1.0)
        started = llm.calls
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await scorer.close()
    return started


async def test_requests_per_minute_are_limited():
    # A limit of 4 per minute lets 4 calls start at once, then one per 15 s.
    assert await calls_started_in_one_second(llm_rpm=4) == 4


async def test_tokens_per_minute_are_limited():
    # One request costs its prompt (~700 tokens) plus the reply it allows: 3000 admit two.
    assert 1 <= await calls_started_in_one_second(llm_tpm=3000) <= 3


async def test_the_token_budget_counts_the_reply_a_request_allows():
    prompt_tokens = sum(estimate_tokens(m["content"]) for m in prompt.build(TRANSCRIPT))
    tpm = 2 * (prompt_tokens + 100) + 10  # two requests allowing 100 reply tokens fit, not three
    assert await calls_started_in_one_second(llm_tpm=tpm, llm_max_tokens=100) == 2
    assert await calls_started_in_one_second(llm_tpm=tpm, llm_max_tokens=800) == 1


async def test_the_bound_can_be_sent_as_max_completion_tokens():
    async with FakeLLM() as llm:
        await score(llm, llm_max_tokens=600, llm_max_tokens_field="max_completion_tokens")
    assert llm.requests[0]["max_completion_tokens"] == 600 and "max_tokens" not in llm.requests[0]


async def test_an_oversized_reply_is_cut_to_the_field_limits():
    huge = "x" * 200_000
    async with FakeLLM(
        responder=lambda body, n: {
            "lead_score": 55,
            "summary": huge,
            "reasoning": huge,
            "recommended_stage": huge,
        }
    ) as llm:
        analysis = await score(llm)
    assert not analysis.used_fallback
    assert (len(analysis.summary), len(analysis.reasoning), len(analysis.recommended_stage)) == (
        500,
        1000,
        100,
    )


async def test_a_responder_can_answer_with_chosen_fields():
    async with FakeLLM(responder=lambda body, n: {"lead_score": 10 * n, "lead_status": "NEW"}) as llm:
        first, second = await score(llm), await score(llm)
    assert (first.lead_score, second.lead_score, second.lead_status) == (10, 20, "NEW")
