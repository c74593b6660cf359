"""`leadsync simulate`: send realistic signed Messenger/Instagram webhook deliveries to an endpoint."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import httpx
from aiolimiter import AsyncLimiter
from rich.console import Console

from leadsync.sim.traffic import Delivery, deliveries
from shared.errors import CommandError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("simulate", help="send realistic signed webhook events to an endpoint")
    p.add_argument(
        "--url", required=True, help="the webhook endpoint, e.g. http://localhost:8000/webhooks/meta"
    )
    p.add_argument("--secret", required=True, help="the app secret the endpoint verifies with")
    p.add_argument("--count", type=_positive, default=20, help="deliveries (POSTs) to send (default 20)")
    p.add_argument("--platform", choices=("messenger", "instagram", "both"), default="messenger")
    p.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="deliveries per second (default: as fast as the endpoint answers)",
    )
    p.add_argument(
        "--page-id",
        default="PAGE_SIM",
        help="Messenger entry id (default PAGE_SIM); connect the page (POST /api/pages) "
        "for its events to be analysed, not only stored",
    )
    p.add_argument(
        "--ig-account-id",
        default="IG_SIM",
        help="Instagram entry id; register it on a page for its events to be published",
    )
    p.add_argument("--concurrency", type=_positive, default=4, help="requests in flight (default 4)")
    p.add_argument("--seed", type=int, default=0, help="which corpus conversations to draw")
    p.set_defaults(func=simulate)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def simulate(args: argparse.Namespace) -> int:
    traffic = deliveries(
        args.count,
        platform=args.platform,
        page_id=args.page_id,
        ig_account_id=args.ig_account_id,
        start_ms=int(time.time() * 1000),
        seed=args.seed,
    )
    started = time.perf_counter()
    statuses, kinds = asyncio.run(
        send(traffic, url=args.url, secret=args.secret.encode(), rate=args.rate, concurrency=args.concurrency)
    )
    elapsed = time.perf_counter() - started
    sent = sum(statuses.values())
    items = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
    codes = ", ".join(f"{n} x {code}" for code, n in sorted(statuses.items()))
    Console(highlight=False).print(
        f"sent {sent} deliveries ({sum(kinds.values())} items: {items}) to {args.url} "
        f"in {elapsed:.1f}s; responses: {codes}"
    )
    failed = sent - statuses.get(200, 0)
    if failed:
        raise CommandError(f"{failed} of {sent} deliveries were not accepted (see the responses above)")
    return 0


async def send(
    traffic: Iterator[Delivery], *, url: str, secret: bytes, rate: float, concurrency: int
) -> tuple[Counter[int], Counter[str]]:
    """POST every delivery; stops at once with CommandError if the endpoint refuses us."""
    statuses: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    limiter = AsyncLimiter(rate, 1) if rate > 0 else None

    async def worker(client: httpx.AsyncClient) -> None:
        for delivery in traffic:  # one shared iterator: workers take turns
            if limiter is not None:
                await limiter.acquire()
            try:
                r = await client.post(url, content=delivery.body, headers=delivery.headers(secret))
            except httpx.HTTPError as err:
                raise CommandError(f"cannot reach {url}: {err or type(err).__name__}") from None
            if r.status_code in (401, 403, 404, 405):
                raise CommandError(
                    f"{url} refused the delivery with {r.status_code} {r.reason_phrase}"
                    + (": is --secret the app secret it verifies with?" if r.status_code == 401 else "")
                )
            statuses[r.status_code] += 1
            kinds.update(delivery.kinds)

    async with httpx.AsyncClient(timeout=30) as client:
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(concurrency):
                    group.create_task(worker(client))
        except* CommandError as errors:
            raise errors.exceptions[0] from None
    return statuses, kinds
