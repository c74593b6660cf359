"""One way for a test to wait for something that happens in the background: `eventually`."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

import asyncpg

T = TypeVar("T")


@overload
async def eventually(
    check: Callable[[], Awaitable[T]],
    *,
    what: str,
    timeout: float = ...,
    interval: float = ...,
    detail: Callable[[], str] | None = ...,
) -> T: ...
@overload
async def eventually(
    check: Callable[[], T],
    *,
    what: str,
    timeout: float = ...,
    interval: float = ...,
    detail: Callable[[], str] | None = ...,
) -> T: ...


async def eventually(
    check: Callable[[], Any],
    *,
    what: str,
    timeout: float = 30,
    interval: float = 0.1,
    detail: Callable[[], str] | None = None,
) -> Any:
    """Call `check` (plain or async) until it returns a truthy value, and return that value.

    After `timeout` seconds the test fails naming `what`, the last value seen and, when given,
    `detail()` (a service's log, say).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        value = await result if inspect.isawaitable(result) else result
        if value:
            return value
        if loop.time() > deadline:
            extra = f"\n{detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {value!r}){extra}")
        await asyncio.sleep(interval)


async def wait_for_row(pool: asyncpg.Pool, query: str, *args: object, timeout: float = 20) -> asyncpg.Record:
    """The first row `query` returns once it returns one."""
    row: asyncpg.Record = await eventually(
        lambda: pool.fetchrow(query, *args), what=f"a row of {query!r}", timeout=timeout
    )
    return row
