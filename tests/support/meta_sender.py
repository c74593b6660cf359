"""A Meta-like webhook sender: signed deliveries, retried on any non-200 until accepted.

Meta retries a failed delivery (immediately, then less and less often); the sender does the
same within a deadline and records what was accepted, so a test can check that everything
answered 200 ended stored and placed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import orjson

from services.webhook.parse import parse
from services.webhook.signature import sign


@dataclass
class Accepted:
    """What the webhook accepted: the mids it must store and the customers it must place."""

    deliveries: int = 0
    mids: set[str] = field(default_factory=set)
    customers: set[tuple[str, str]] = field(default_factory=set)  # (page or account, contact)
    statuses: Counter[int] = field(default_factory=Counter)  # every answer, retries included
    retried: int = 0  # deliveries that needed more than one try

    def add(self, body: bytes) -> None:
        parsed = parse(orjson.loads(body), now=datetime.now(UTC))
        self.deliveries += 1
        for item in parsed.items:
            self.mids.add(item.message["mid"])
            if not item.message["from_page"]:
                self.customers.add((item.account_id, item.contact_id))


class MetaSender:
    def __init__(
        self, url: str, secret: str, *, concurrency: int = 4, deadline_s: float = 180, rate: float = 0.0
    ) -> None:
        self.url = url
        self.secret = secret.encode()
        self.concurrency = concurrency
        self.deadline_s = deadline_s
        self.rate = rate
        self.accepted = Accepted()

    async def send_all(self, bodies: Iterable[bytes]) -> Accepted:
        """POST every body until it is answered 200 (each within the deadline)."""
        feed = iter(list(bodies))  # one iterator shared by the workers
        interval = 1 / self.rate if self.rate else 0.0
        async with httpx.AsyncClient(timeout=10) as client:

            async def worker() -> None:
                for body in feed:
                    await self._deliver(client, body)
                    if interval:
                        await asyncio.sleep(interval * self.concurrency)

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return self.accepted

    async def _deliver(self, client: httpx.AsyncClient, body: bytes) -> None:
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, self.secret)}
        deadline = asyncio.get_running_loop().time() + self.deadline_s
        delay, tries = 0.2, 0
        while True:
            tries += 1
            try:
                r = await client.post(self.url, content=body, headers=headers)
                status = r.status_code
            except httpx.HTTPError:
                status = 0  # the webhook is away: Meta retries as for a non-200
            self.accepted.statuses[status] += 1
            if status == 200:
                self.accepted.add(body)
                self.accepted.retried += tries > 1
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"a delivery was refused for {self.deadline_s}s (last {status})")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
