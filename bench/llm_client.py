"""CPU of the analyzer's LLM client per call: the openai SDK's default path against ours.

    .venv/bin/python bench/llm_client.py [--calls 2000] [--concurrency 50] [--latency 0.05]

tests/fakes/llm.py runs in a child process; this process makes `--calls` analyses at
`--concurrency` and reports its own CPU (time.process_time) per call for two clients, alternated
over `--rounds`:
- sdk: `AsyncOpenAI` with its default httpx client and `chat.completions.create` (typed
  parameters transformed, the reply built into response models), as before issue 15;
- leadsync: `LlmScorer.from_settings`, i.e. the client the analyzer runs (aiohttp backend, the
  SDK's `post` with the prepared body, the reply read once and validated by `parse_reply`).
Both build the same prompt and validate the same reply, so the difference is the client.
Goal (issue 15): less CPU per call than the SDK's default path.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import openai
from analyzer_harness import fake_llm_process

from services.analyzer import prompt
from services.analyzer.llm import LlmScorer
from services.analyzer.settings import AnalyzerSettings
from shared.messages import ChatMessage


def transcript() -> list[ChatMessage]:
    start = datetime.now(UTC) - timedelta(hours=1)
    lines = [
        "Hi, is the blue sofa still available?",
        "Yes! It is 450 EUR.",
        "Great, can you deliver to Lyon on Friday?",
        "We can, delivery is 30 EUR.",
        "Perfect, I'll take it. How do I pay?",
    ]
    return [
        ChatMessage(mid=f"m{i}", from_page=i % 2 == 1, text=t, sent_at=start + timedelta(minutes=i))
        for i, t in enumerate(lines)
    ]


async def sdk_default(base_url: str, calls: int, concurrency: int) -> float:
    """The SDK's typed path on its default httpx client; returns CPU seconds."""
    client = openai.AsyncOpenAI(api_key="bench", base_url=base_url, timeout=30, max_retries=0)
    messages = transcript()
    slots = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with slots:
            request = prompt.build(messages, ())
            response = await client.chat.completions.create(  # type: ignore[call-overload]
                model="gpt-4o-mini",
                messages=request,
                response_format=prompt.RESPONSE_FORMAT,
                temperature=0,
                max_tokens=800,
            )
            prompt.parse_reply(
                response.choices[0].message.content,
                model="gpt-4o-mini",
                messages=messages,
                version=prompt.PROMPT_VERSION,
            )

    await one()  # connections and lazy imports outside the measurement
    cpu = time.process_time()
    await asyncio.gather(*(one() for _ in range(calls)))
    cpu = time.process_time() - cpu
    await client.close()
    return cpu


async def leadsync(base_url: str, calls: int, concurrency: int) -> float:
    settings = AnalyzerSettings(
        openai_api_key=f"sk-{uuid.uuid4().hex}",
        openai_base_url=base_url,
        llm_concurrency=concurrency,
        llm_rpm=10_000_000,
        llm_tpm=10**10,
    )
    scorer = LlmScorer.from_settings(settings)
    messages = transcript()
    await scorer.analyse(messages)
    cpu = time.process_time()
    await asyncio.gather(*(scorer.analyse(messages) for _ in range(calls)))
    cpu = time.process_time() - cpu
    await scorer.close()
    return cpu


async def main(args: argparse.Namespace) -> None:
    results: dict[str, list[float]] = {"sdk": [], "leadsync": []}
    async with fake_llm_process(args.latency) as url:
        for _ in range(args.rounds):
            for name, run in (("sdk", sdk_default), ("leadsync", leadsync)):
                results[name].append(await run(url, args.calls, args.concurrency) / args.calls * 1000)
    for name, figures in results.items():
        print(
            f"{name:9s} CPU per call: best {min(figures):.3f} ms; rounds "
            + ", ".join(f"{f:.3f}" for f in figures)
        )
    print(f"ratio leadsync/sdk (best rounds): {min(results['leadsync']) / min(results['sdk']):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
