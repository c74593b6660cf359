"""Analyzer throughput: a fake LLM of fixed latency L and LLM_CONCURRENCY C → analyses per second.

    .venv/bin/python bench/analyzer.py [--count 1200] [--latency 0.4] [--concurrency 16]

Backfill-style events (one whole conversation each, from leadsync.sim.corpus) are queued first;
then the analyzer runs in-process over the real RabbitMQ and Postgres (the real Consumer, the
real openai client) against tests/fakes/llm.py in a child process, until every conversation's
contact.scored arrived. Reported: end to end (from the consumer's start) and sustained (from the
first contact.scored to the last, i.e. without the pipeline's fill time; bench/rates.py says why
the first wave of C results is not counted). Both ratios are printed; the verdict uses the
sustained rate of the LLM-scored analyses only (a fallback analysis makes no LLM call and would
flatter it), and a run with fallbacks says so.
Goal (issue 4): at least 0.9 x C/L analyses per second.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from analyzer_harness import fake_llm_process, infrastructure, llm_stats
from rates import end_to_end, sustained

from leadsync.sim.corpus import conversations
from services.analyzer.llm import CALLS
from shared.broker import Publisher
from shared.messages import ChatMessage, ConversationUpdated
from tests.support.analyzer import analyzer_running, watching


def events(count: int) -> list[ConversationUpdated]:
    start = datetime.now(UTC) - timedelta(days=1)
    out = []
    for conv in conversations(count, seed=4):
        contact = f"bench_{conv.index}"
        out.append(
            ConversationUpdated(
                page_id="BENCH_PAGE",
                platform="messenger",
                contact_id=contact,
                contact_name=conv.customer_name,
                origin="backfill",
                messages=[
                    ChatMessage(
                        mid=f"{contact}_{i}",
                        from_page=from_page,
                        text=text,
                        sent_at=start + timedelta(minutes=i),
                    )
                    for i, (from_page, text) in enumerate(conv.turns)
                ],
            )
        )
    return out


async def main(args: argparse.Namespace) -> None:
    async with (
        infrastructure() as infra,
        fake_llm_process(args.latency) as llm_url,
        watching(infra.amqp_url, infra.topology) as watcher,
    ):
        publisher = Publisher(infra.amqp_url, infra.topology)
        batch = events(args.count)
        await publisher.publish_many([(e, None) for e in batch])
        started = time.perf_counter()
        cpu_started = time.process_time()
        async with analyzer_running(
            pool=infra.pool,
            database_url=infra.database_url,
            amqp_url=infra.amqp_url,
            topology=infra.topology,
            llm_base_url=llm_url,
            publisher=publisher,
            llm_concurrency=args.concurrency,
            llm_rpm=1_000_000,
            llm_tpm=100_000_000,
            llm_timeout_s=30,
        ):
            await watcher.wait_count(args.count, timeout=args.count * args.latency + 120)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        stats = await llm_stats(llm_url)
        await publisher.close()
    ideal = args.concurrency / args.latency
    scored = list(zip(watcher.items, watcher.arrived, strict=True))
    llm_arrivals = [at for s, at in scored if not s.analysis.used_fallback]
    fallbacks = len(scored) - len(llm_arrivals)
    whole = end_to_end(args.count, elapsed)
    rate = sustained(llm_arrivals, args.concurrency)
    outcomes = {
        s.labels["outcome"]: int(s.value)
        for s in next(iter(CALLS.collect())).samples
        if s.name.endswith("_total")
    }
    print(
        f"analyses: {args.count} in {elapsed:.1f} s; LLM calls {stats['calls']} {outcomes}, "
        f"max in flight {stats['max_in_flight']}, fallbacks {fallbacks}"
    )
    print(
        f"throughput: end to end {whole:.1f}/s, sustained {rate:.1f}/s "
        f"({len(llm_arrivals)} LLM-scored analyses); "
        f"C/L = {args.concurrency}/{args.latency} = {ideal:.1f}/s"
    )
    print(
        f"analyzer process CPU: {cpu / args.count * 1000:.1f} ms per analysis "
        f"(with the result watcher), {cpu / elapsed:.0%} of one core"
    )
    met = rate >= 0.9 * ideal
    print(
        f"ratio: {rate / ideal:.2f} of C/L sustained, {whole / ideal:.2f} end to end "
        f"(goal ≥ 0.90 sustained) → {'MET' if met else 'NOT MET'}"
        + (f" ({fallbacks} fallback analyses excluded)" if fallbacks else "")
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1200)
    parser.add_argument("--latency", type=float, default=0.4, help="fake LLM latency L, seconds")
    parser.add_argument("--concurrency", type=int, default=16, help="LLM_CONCURRENCY C")
    asyncio.run(main(parser.parse_args()))
