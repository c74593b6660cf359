"""Runs the `leadsync` command as a user does: a child process, its exit status and output."""

from __future__ import annotations

import asyncio
import sys


async def leadsync(
    env: dict[str, str], *args: str, stdin: str = "", columns: int = 80
) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `python -m leadsync ARGS` with `stdin` as its input."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "leadsync",
        *args,
        env={**env, "COLUMNS": str(columns)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin.encode())
    return proc.returncode or 0, out.decode(), err.decode()
