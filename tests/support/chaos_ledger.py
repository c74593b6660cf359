"""The chaos suite's verdict: what was accepted must end stored, placed and exactly counted.

- every webhook delivery answered 200: each of its messages stored, each of its customers a
  contact placed in a stage;
- every job COMPLETED, each enumerated conversation settled exactly once (one job_items row),
  the counters equal to those rows, and every backfilled contact placed;
- no transient fault leaves anything in a `.dead` queue (only the poison a scenario sent).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from shared.broker import Topology
from tests.support.meta_sender import Accepted
from tests.support.topology import queue_depth


async def retrying(fn: Callable[[], Awaitable[Any]], timeout: float = 60) -> Any:
    """Run a check's query, riding out the database coming back from a fault."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await fn()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


@dataclass
class Scenario:
    name: str
    live_page: str
    backfill_page: str
    job_id: str
    accepted: Accepted = field(default_factory=Accepted)
    poison: int = 0  # messages the scenario sent that must be dead-lettered
    dead_before: dict[str, int] = field(default_factory=dict)


@dataclass
class Ledger:
    scenario: str
    deliveries: int
    retried: int
    non_200: int
    mids: int
    stored: int
    customers: int
    placed: int
    job_status: str
    total: int
    items: int
    synced: int
    failed: int
    backfill_placed: int
    dead: dict[str, int]
    poison: int

    @property
    def ok(self) -> bool:
        return (
            self.stored == self.mids
            and self.placed == self.customers
            and self.job_status == "COMPLETED"
            and self.items == self.total
            and self.synced + self.failed == self.items
            and self.failed == 0
            and self.backfill_placed == self.total
            and sum(self.dead.values()) == self.poison
        )

    def line(self) -> str:
        dead = ", ".join(f"{q.rsplit('.', 2)[-2]} {n}" for q, n in self.dead.items())
        return (
            f"[{'ok' if self.ok else 'FAILED'}] {self.scenario}: webhook {self.deliveries} accepted "
            f"({self.retried} after a non-200, {self.non_200} non-200 answers) → messages "
            f"{self.stored}/{self.mids} stored, contacts {self.placed}/{self.customers} placed; job "
            f"{self.job_status} items {self.items}/{self.total} (synced {self.synced}, failed "
            f"{self.failed}), backfilled contacts placed {self.backfill_placed}/{self.total}; "
            f"dead letters: {dead} (poison sent {self.poison})"
        )


def dead_queues(topology: Topology) -> list[str]:
    return [topology.dead(topology.queue(s)) for s in ("analyzer", "assigner", "backfill")]


async def dead_depths(amqp_url: str, topology: Topology) -> dict[str, int]:
    depths: dict[str, int] = {}
    for q in dead_queues(topology):
        depths[q] = await retrying(functools.partial(queue_depth, amqp_url, q))
    return depths


async def measure(dsn: str, amqp_url: str, topology: Topology, s: Scenario) -> Ledger:
    conn = await retrying(lambda: asyncpg.connect(dsn))
    try:
        live_ids = [c for page, c in s.accepted.customers if page == s.live_page]
        stored = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE mid = ANY($1)", list(s.accepted.mids)
        )
        placed = await conn.fetchval(
            "SELECT count(*) FROM contacts WHERE page_id = $1 AND external_id = ANY($2) AND stage_id IS NOT NULL",
            s.live_page,
            live_ids,
        )
        job = await conn.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", s.job_id)
        items = await conn.fetch(
            "SELECT outcome, count(*) FROM job_items WHERE job_id = $1::uuid GROUP BY outcome", s.job_id
        )
        backfill_placed = await conn.fetchval(
            "SELECT count(*) FROM contacts WHERE page_id = $1 AND stage_id IS NOT NULL", s.backfill_page
        )
    finally:
        await conn.close()
    by_outcome = {r["outcome"]: r["count"] for r in items}
    after = await dead_depths(amqp_url, topology)
    return Ledger(
        scenario=s.name,
        deliveries=s.accepted.deliveries,
        retried=s.accepted.retried,
        non_200=sum(n for code, n in s.accepted.statuses.items() if code != 200),
        mids=len(s.accepted.mids),
        stored=stored,
        customers=len(live_ids),
        placed=placed,
        job_status=job["status"],
        total=job["total_contacts"] or 0,
        items=sum(by_outcome.values()),
        synced=job["synced_contacts"],
        failed=job["failed_contacts"],
        backfill_placed=backfill_placed,
        dead={q: after[q] - s.dead_before.get(q, 0) for q in after},
        poison=s.poison,
    )


async def settle(dsn: str, amqp_url: str, topology: Topology, s: Scenario, timeout: float) -> Ledger:
    """The ledger once everything accepted has landed (or `timeout` passed)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        ledger = await measure(dsn, amqp_url, topology, s)
        if ledger.ok or asyncio.get_running_loop().time() > deadline:
            return ledger
        await asyncio.sleep(0.5)
