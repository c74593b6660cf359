"""The tests' one waiting helper returns what the check found, or fails naming what it waited for."""

from __future__ import annotations

import pytest

from tests.support.eventually import eventually


async def test_returns_the_first_truthy_value_of_a_plain_or_async_check():
    calls = []

    def plain() -> int:
        calls.append(1)
        return len(calls) if len(calls) >= 3 else 0

    async def later() -> str:
        return "row"

    assert await eventually(plain, what="three calls", interval=0) == 3
    assert await eventually(later, what="a row") == "row"


async def test_fails_naming_what_it_waited_for_and_the_detail():
    with pytest.raises(AssertionError, match=r"waiting for the job \(last: None\)\nthe log"):
        await eventually(lambda: None, what="the job", timeout=0.05, interval=0.01, detail=lambda: "the log")
