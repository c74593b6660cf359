"""`leadsync dlq list|replay QUEUE`: inspect dead letters and send them back to the exchange."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from leadsync import deadletters
from leadsync.commands import action, command_group
from shared.broker import Topology
from shared.errors import BrokerUnavailable, CommandError, DeadLetterError
from shared.settings import BaseServiceSettings, load

T = TypeVar("T")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = command_group(sub, "dlq", "list or replay dead-lettered messages")
    listing = action(actions, "list", run_list, help="count and describe the messages of a dead-letter queue")
    listing.add_argument("queue", help="analyzer, assigner, backfill, or a full queue name")
    listing.add_argument("--limit", type=_positive, default=20, help="messages to describe (20)")
    again = action(actions, "replay", run_replay, help="publish dead messages back to the events exchange")
    again.add_argument("queue", help="analyzer, assigner, backfill, or a full queue name")
    again.add_argument("--limit", type=_positive, default=None, help="replay at most N messages")


def _positive(value: str) -> int:
    number = int(value) if value.isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}")
    return number


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _settings() -> tuple[str, Topology]:
    settings = load(BaseServiceSettings)
    return settings.amqp_url.get_secret_value(), Topology(settings.broker_namespace)


def _call(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except DeadLetterError as err:
        raise CommandError(str(err)) from None
    except (BrokerUnavailable, OSError) as err:
        raise CommandError(f"RabbitMQ: {err}; nothing was removed from the queue") from None


def run_list(args: argparse.Namespace) -> int:
    url, topology = _settings()
    queue, count, letters = _call(deadletters.inspect(url, topology, args.queue, limit=args.limit))
    console = Console()
    console.print(f"{queue}: {count} dead letter{'s' if count != 1 else ''}")
    if not letters:
        return 0
    now = datetime.now(UTC)
    rows = [
        (
            letter.message_id or "-",
            letter.reason,
            "?" if letter.deliveries is None else str(letter.deliveries),
            _age(letter.age_s(now)),
            letter.routing_key or "?",
            letter.error,
        )
        for letter in letters
    ]
    if console.is_terminal:
        table = Table("message id", "reason", "deliveries", "age", "routing key", "first error")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:  # piped: one greppable line per message, never wrapped
        for mid, reason, deliveries, age, key, error in rows:
            print(
                f"{mid}  reason={reason}  deliveries={deliveries}  age={age}  "
                f"routing_key={key}  error={error}"
            )
    if count > len(letters):
        console.print(f"… and {count - len(letters)} more (--limit N to see more)")
    return 0


def run_replay(args: argparse.Namespace) -> int:
    url, topology = _settings()
    result = _call(deadletters.replay(url, topology, args.queue, limit=args.limit))
    print(f"{result.queue}: replayed {result.replayed} to {topology.events}, {result.left} left")
    if result.skipped:
        print(f"kept {len(result.skipped)} whose routing key is unknown: {', '.join(result.skipped)}")
        return 1
    return 0
