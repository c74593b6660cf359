"""The analyzer's view of which pages are connected, over the real database."""

from __future__ import annotations

import asyncio
import uuid

from services.analyzer.pages import ConnectedPages


async def test_not_connected_is_asked_again_and_connected_is_believed_for_the_ttl(pool):
    page = f"pg_{uuid.uuid4().hex[:8]}"
    pages = ConnectedPages(pool, ttl_s=30)
    assert await pages(page) == "unknown"
    await pool.execute("INSERT INTO pages (id, name) VALUES ($1, 'Shop')", page)
    # A page that gets connected is analysed from its next event on.
    assert await pages(page) is None
    await pool.execute("UPDATE pages SET health_status = 'disconnected' WHERE id = $1", page)
    assert await pages(page) is None  # believed for the TTL
    assert await ConnectedPages(pool, ttl_s=0)(page) == "disconnected"
    await pool.execute("UPDATE pages SET health_status = 'token_expired' WHERE id = $1", page)
    # Set up but needing a reconnect: still connected.
    assert await ConnectedPages(pool, ttl_s=0)(page) is None


async def test_concurrent_events_of_one_page_share_one_read(pool):
    page = f"pg_{uuid.uuid4().hex[:8]}"
    pages = ConnectedPages(pool, ttl_s=0)
    reads = 0
    real = pages._read

    async def counted(page_id: str):
        nonlocal reads
        reads += 1
        return await real(page_id)

    pages._read = counted  # type: ignore[method-assign]
    assert await asyncio.gather(*(pages(page) for _ in range(20))) == ["unknown"] * 20
    assert reads == 1
    assert await pages(page) == "unknown" and reads == 2  # the next delivery asks again
