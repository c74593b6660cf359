"""LLM calls per inbound customer message under bursty chat traffic, and burst-to-score latency.

    .venv/bin/python bench/llm_calls.py [--conversations 150] [--debounce 2.0] [--latency 0.5]

Conversations from leadsync.sim.corpus are replayed live, as `leadsync simulate` shapes them:
each customer line is one webhook event, a photo follows a line 15% of the time, and page
replies arrive as echo events. By default every message of a conversation follows the previous one
0.2-1.0 s later (one burst per conversation, the way `leadsync simulate` sends them), and a new
conversation starts every 0.1 s. `--turn-gap 1 4` replays live chat instead: the page answers
1-4 s after the customer and the customer 1-4 s after the page. The analyzer runs in-process
over the real RabbitMQ and Postgres with its production debounce, against a fake LLM of fixed
latency.
Goals (issue 4): ≤ 0.3 LLM calls per customer message; p95 from the last customer message of a
conversation to the contact.scored covering it < debounce + LLM latency + 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from analyzer_harness import infrastructure, percentile

from leadsync.sim.corpus import conversations
from shared.broker import Publisher
from shared.messages import ChatMessage, ContactScored, ConversationUpdated
from tests.fakes.llm import FakeLLM
from tests.support.analyzer import analyzer_running, watching


@dataclass
class Sent:
    at: float  # seconds after the start of the replay
    event: ConversationUpdated
    customer: bool


def schedule(args: argparse.Namespace) -> list[Sent]:
    """Every event of the replay with its send time, in time order."""
    base = datetime.now(UTC)
    plan: list[Sent] = []
    for conv in conversations(args.conversations, seed=args.seed):
        rng = random.Random(f"llm_calls:{args.seed}:{conv.index}")
        contact = f"burst_{conv.index}"
        t = conv.index * args.stagger
        previous: bool | None = None
        n = 0

        def add(
            at: float,
            from_page: bool,
            text: str | None,
            attachments: list[str] | None = None,
            *,
            contact: str = contact,
            name: str = conv.customer_name,
        ) -> None:
            nonlocal n
            n += 1
            message = ChatMessage(
                mid=f"{contact}_{n}",
                from_page=from_page,
                text=text,
                attachments=attachments or [],
                sent_at=base + timedelta(seconds=at),
            )
            plan.append(
                Sent(
                    at,
                    ConversationUpdated(
                        page_id="BENCH_PAGE",
                        platform="messenger",
                        contact_id=contact,
                        contact_name=name,
                        messages=[message],
                    ),
                    not from_page,
                )
            )

        for from_page, text in conv.turns:
            if previous is not None:
                same_side = previous == from_page
                gap = args.burst_gap if same_side and not from_page else args.turn_gap
                t += rng.uniform(*gap)
            add(t, from_page, text)
            if not from_page and rng.random() < 0.15:
                t += rng.uniform(0.3, 1.0)
                add(t, False, None, ["image"])
            previous = from_page
    plan.sort(key=lambda s: s.at)
    return plan


async def replay(plan: list[Sent], publisher: Publisher) -> dict[str, tuple[float, datetime]]:
    """Publish each event at its time; returns each contact's last customer message (time, sent_at)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    last: dict[str, tuple[float, datetime]] = {}
    pending: set[asyncio.Task[None]] = set()
    for sent in plan:
        delay = start + sent.at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.ensure_future(publisher.publish(sent.event))
        pending.add(task)
        task.add_done_callback(pending.discard)
        if sent.customer:
            last[sent.event.contact_id] = (loop.time(), sent.event.messages[0].sent_at)
    await asyncio.gather(*pending)
    return last


async def main(args: argparse.Namespace) -> None:
    plan = schedule(args)
    customer_messages = sum(1 for s in plan if s.customer)
    async with (
        infrastructure() as infra,
        FakeLLM(latency=args.latency) as llm,
        watching(infra.amqp_url, infra.topology) as watcher,
    ):
        publisher = Publisher(infra.amqp_url, infra.topology)
        async with analyzer_running(
            pool=infra.pool,
            database_url=infra.database_url,
            amqp_url=infra.amqp_url,
            topology=infra.topology,
            llm_base_url=llm.base_url,
            publisher=publisher,
            analyzer_debounce_s=args.debounce,
            llm_timeout_s=30,
            llm_rpm=1_000_000,
            llm_tpm=100_000_000,
        ):
            last = await replay(plan, publisher)

            def covered(items: list[ContactScored]) -> bool:
                through: dict[str, datetime] = {}
                for s in items:
                    through[s.contact_id] = max(
                        through.get(s.contact_id, s.analyzed_through), s.analyzed_through
                    )
                return all(c in through and through[c] >= sent for c, (_, sent) in last.items())

            await watcher.wait_for(covered, timeout=60)
        await publisher.close()
    latencies = []
    for contact, (published, sent_at) in last.items():
        arrivals = [
            at
            for s, at in zip(watcher.items, watcher.arrived, strict=True)
            if s.contact_id == contact and s.analyzed_through >= sent_at
        ]
        latencies.append(min(arrivals) - published)
    ratio = llm.calls / customer_messages
    p95 = percentile(latencies, 0.95)
    bound = args.debounce + args.latency + 1.0
    print(
        f"conversations {len(last)}, customer messages {customer_messages}, "
        f"events {len(plan)}, contact.scored {len(watcher.items)}"
    )
    print(
        f"LLM calls: {llm.calls} → {ratio:.3f} per customer message (goal ≤ 0.30) → "
        f"{'MET' if ratio <= 0.3 else 'NOT MET'}; floor (one per conversation) "
        f"{len(last) / customer_messages:.3f}"
    )
    print(
        f"last message → contact.scored: p50 {percentile(latencies, 0.5):.2f} s, p95 {p95:.2f} s, "
        f"max {max(latencies):.2f} s (goal p95 < debounce {args.debounce} + LLM {args.latency} + 1 "
        f"= {bound:.1f} s) → {'MET' if p95 < bound else 'NOT MET'}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=150)
    parser.add_argument("--debounce", type=float, default=2.0, help="ANALYZER_DEBOUNCE_S")
    parser.add_argument("--latency", type=float, default=0.5, help="fake LLM latency, seconds")
    parser.add_argument("--stagger", type=float, default=0.1, help="seconds between conversation starts")
    for flag, text in (
        ("--burst-gap", "seconds between a customer's consecutive messages"),
        ("--turn-gap", "seconds between a message and the other side's answer"),
    ):
        parser.add_argument(flag, type=float, nargs=2, default=(0.2, 1.0), metavar=("LO", "HI"), help=text)
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(main(parser.parse_args()))
