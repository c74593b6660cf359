"""Starts leadsync services as a user does (`leadsync run …` in a child process) for e2e tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    """A running `leadsync run` process; its combined output is kept in a file for assertions."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int, log_path: str) -> None:
        self.proc = proc
        self.port = port
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"

    def logs(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), timeout)


@contextlib.asynccontextmanager
async def running(
    env: dict[str, str], *services: str, extra_env: dict[str, str] | None = None,
    ready_timeout: float = 30,
) -> AsyncIterator[Stack]:
    """Run `leadsync run SERVICES` until the block ends; waits until the consumers listen."""
    port = free_port()
    full_env = {**env, "PORT": str(port), "PUBLIC_URL": f"http://127.0.0.1:{port}", **(extra_env or {})}
    log = tempfile.NamedTemporaryFile(prefix="leadsync-stack-", suffix=".log", delete=False)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "leadsync", "run", *services,
        env=full_env, stdout=log, stderr=log,
    )
    stack = Stack(proc, port, log.name)
    try:
        await _wait_ready(stack, services or ("webhook", "analyzer", "assigner", "backfill"),
                          ready_timeout)
        yield stack
    finally:
        with contextlib.suppress(ProcessLookupError, TimeoutError):
            await stack.stop()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        log.close()
        if os.environ.get("LEADSYNC_KEEP_LOGS") is None:
            os.unlink(log.name)


async def _wait_ready(stack: Stack, services: tuple[str, ...], timeout: float) -> None:
    consumers = [s for s in services if s != "webhook"]
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            if stack.proc.returncode is not None:
                raise RuntimeError(f"leadsync run exited early:\n{stack.logs()}")
            logs = stack.logs()
            ok = logs.count("consumer.started") >= len(consumers)
            if "webhook" in services:
                try:
                    r = await client.get(f"{stack.url}/readyz", timeout=1)
                    ok = ok and r.status_code == 200
                except httpx.HTTPError:
                    ok = False
            if ok:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"stack not ready after {timeout}s:\n{logs}")
            await asyncio.sleep(0.1)
