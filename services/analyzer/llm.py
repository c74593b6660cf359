"""The LLM path: one Chat Completions call per analysis, bounded, rate-limited, retried, validated."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import openai
import orjson
from aiolimiter import AsyncLimiter
from prometheus_client import Counter, Gauge, Histogram
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from services.analyzer import prompt
from services.analyzer.settings import AnalyzerSettings
from services.analyzer.transcript import estimate_tokens
from shared.errors import InvalidReply, LlmFailed
from shared.messages import Analysis, ChatMessage
from shared.vocabulary import Stage

OUTCOMES = "ok rate_limited server_error timeout connection_error invalid_reply client_error".split()
CALLS = Counter(
    "leadsync_analyzer_llm_calls_total", f"LLM calls by outcome ({', '.join(OUTCOMES)}).", ["outcome"]
)
LATENCY = Histogram(
    "leadsync_analyzer_llm_latency_seconds",
    "Duration of one LLM call, whatever its outcome.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
IN_FLIGHT = Gauge("leadsync_analyzer_llm_in_flight", "LLM calls currently awaiting a reply.")

# The longest reply a request asks for (max_tokens): the six fields at their length limits and a
# list of evidence fit in ~600 tokens. It is also what a reply costs in the tokens-per-minute budget.
MAX_REPLY_TOKENS = 800


def classify(err: BaseException) -> str:
    """The outcome label of a failed call."""
    if isinstance(err, InvalidReply):
        return "invalid_reply"
    if isinstance(err, openai.RateLimitError):
        return "rate_limited"
    if isinstance(err, openai.APITimeoutError):
        return "timeout"
    if isinstance(err, openai.APIConnectionError):
        return "connection_error"
    if isinstance(err, openai.APIStatusError):
        return "server_error" if err.status_code >= 500 else "client_error"
    return "error"


def retryable(err: BaseException) -> bool:
    # A 4xx other than 429 (bad key, unknown model, bad request) will not heal by retrying.
    return classify(err) in ("invalid_reply", "rate_limited", "timeout", "connection_error", "server_error")


def retry_after(err: BaseException) -> float | None:
    """Seconds the server asked us to wait (Retry-After or retry-after-ms), if it said."""
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue  # an HTTP date: rare from LLM servers; the backoff applies instead
    return None


class LlmScorer:
    """Scores transcripts with an OpenAI-compatible server; raises LlmFailed after the retries."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        model: str,
        concurrency: int,
        rpm: int,
        tpm: int,
        attempts: int = 3,
        backoff_s: float = 0.5,
        retry_after_max_s: float = 30.0,
        max_tokens: int = MAX_REPLY_TOKENS,
        max_tokens_field: str = "max_tokens",
    ) -> None:
        self._client = client
        self.model = model
        # Older OpenAI-compatible servers know max_tokens; OpenAI's reasoning models want
        # max_completion_tokens instead. Either way every request carries a bound.
        self._max_tokens = {max_tokens_field: max_tokens}
        self.max_tokens = max_tokens
        self._slots = asyncio.Semaphore(concurrency)
        self._rpm = AsyncLimiter(rpm, 60)
        self._tpm = AsyncLimiter(tpm, 60)
        self._tpm_max = tpm
        self._attempts = attempts
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_s, max=max(backoff_s * 8, 0.001), jitter=backoff_s
        )
        self._retry_after_max = retry_after_max_s

    @classmethod
    def from_settings(cls, settings: AnalyzerSettings) -> LlmScorer:
        assert settings.openai_api_key is not None
        client = openai.AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout_s,
            max_retries=0,  # retries are ours: bounded, logged, with the limiter in the loop
            # The SDK's aiohttp backend: about half the CPU per call of its default httpx one
            # (bench/llm_client.py). One client, so one connection pool, per process.
            http_client=openai.DefaultAioHttpClient(timeout=settings.llm_timeout_s),
        )
        return cls(
            client,
            model=settings.llm_model,
            concurrency=settings.llm_concurrency,
            rpm=settings.llm_rpm,
            tpm=settings.llm_tpm,
            attempts=settings.llm_attempts,
            backoff_s=settings.llm_backoff_s,
            retry_after_max_s=settings.llm_retry_after_max_s,
            max_tokens=settings.llm_max_tokens,
            max_tokens_field=settings.llm_max_tokens_field,
        )

    async def close(self) -> None:
        await self._client.close()

    def _wait(self, state: RetryCallState) -> float:
        backoff = self._backoff(state)
        err = state.outcome.exception() if state.outcome is not None else None
        asked = retry_after(err) if err is not None else None
        return backoff if asked is None else max(backoff, min(asked, self._retry_after_max))

    async def analyse(
        self,
        messages: Sequence[ChatMessage],
        stages: Sequence[Stage] = (),
        *,
        version: str = prompt.PROMPT_VERSION,
        model: str | None = None,
    ) -> Analysis:
        """One analysis with the prompt `version` and `model` (default: the configured one)."""
        request = prompt.build(messages, stages, version=version)
        # The budget counts the whole reply the request allows, not a typical one.
        tokens = sum(estimate_tokens(m["content"]) for m in request) + self.max_tokens
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception(retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._call(request, tokens, messages, version, model or self.model)
        except Exception as err:
            raise LlmFailed(classify(err)) from err
        raise LlmFailed("no attempt made")  # pragma: no cover - stop_after_attempt(≥1) runs once

    async def _call(
        self,
        request: list[dict[str, str]],
        tokens: int,
        messages: Sequence[ChatMessage],
        version: str,
        model: str,
    ) -> Analysis:
        async with self._slots:
            await self._rpm.acquire()
            await self._tpm.acquire(min(tokens, self._tpm_max))
            IN_FLIGHT.inc()
            started = time.perf_counter()
            outcome = "ok"
            try:
                # The SDK's request path (its errors, timeouts and headers) without the typed
                # layer: the body is already what the API wants (no parameter transform), and
                # the reply is read once (no response models) and validated by parse_reply.
                # The body as JSON bytes (orjson; the SDK sends bytes as they are).
                raw = await self._client.post(
                    "/chat/completions",
                    cast_to=bytes,
                    content=orjson.dumps(
                        {
                            "model": model,
                            "messages": request,
                            "response_format": prompt.RESPONSE_FORMAT,
                            "temperature": 0,
                            **self._max_tokens,
                        }
                    ),
                )
                try:
                    content = orjson.loads(raw)["choices"][0]["message"]["content"]
                    return prompt.parse_reply(content, model=model, messages=messages, version=version)
                except (ValueError, IndexError, KeyError, AttributeError, TypeError) as err:
                    raise InvalidReply(str(err)[:200]) from None
            except Exception as err:
                outcome = classify(err)
                raise
            finally:
                IN_FLIGHT.dec()
                LATENCY.observe(time.perf_counter() - started)
                CALLS.labels(outcome).inc()
