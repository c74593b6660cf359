"""Helpers of the backfill tests: pages with encrypted tokens, the admin API, waiting for jobs."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx

from shared.crypto import TokenCipher
from tests.support.eventually import eventually


async def add_page(
    pool: asyncpg.Pool, key: str, page_id: str, token: str, *, instagram: str | None = None, **columns: Any
) -> None:
    cols = {
        "id": page_id,
        "name": f"Shop {page_id}",
        "access_token_enc": TokenCipher(key).encrypt(token),
        "instagram_account_id": instagram,
        **columns,
    }
    names = ", ".join(cols)
    params = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
    await pool.execute(f"INSERT INTO pages ({names}) VALUES ({params})", *cols.values())


def api(url: str, env: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url, timeout=10, headers={"Authorization": f"Bearer {env['ADMIN_TOKEN']}"}
    )


async def wait_job(
    pool: asyncpg.Pool, job_id: str, statuses: tuple[str, ...] = ("COMPLETED",), timeout: float = 60
) -> asyncpg.Record:
    """The job row once its status is one of `statuses`; fails the test after `timeout` s."""

    async def ended() -> asyncpg.Record | None:
        row: asyncpg.Record | None = await pool.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id)
        return row if row is not None and row["status"] in statuses else None

    found: asyncpg.Record = await eventually(
        ended, what=f"job {job_id} {' or '.join(statuses)}", timeout=timeout
    )
    return found


async def wait_total_contacts(pool: asyncpg.Pool, job_id: str, at_least: int, poll: float) -> None:
    """Returns once the job has counted `at_least` contacts, checking every `poll` s (a tight loop:
    the caller acts mid-job)."""
    while (
        await pool.fetchval("SELECT coalesce(total_contacts, 0) FROM jobs WHERE id = $1::uuid", job_id)
    ) < at_least:
        await asyncio.sleep(poll)


async def item_counts(pool: asyncpg.Pool, job_id: str) -> dict[str, int]:
    rows = await pool.fetch(
        "SELECT outcome, count(*) FROM job_items WHERE job_id = $1::uuid GROUP BY outcome", job_id
    )
    return {r["outcome"]: r["count"] for r in rows}
