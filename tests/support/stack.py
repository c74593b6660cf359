"""Starts leadsync services as a user does (`leadsync run …` in a child process) for e2e tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator

import httpx

from leadsync.commands.run import SERVICES
from tests.support.eventually import eventually


def process_env(database_url: str, amqp_url: str, namespace: str, **more: str) -> dict[str, str]:
    """A service process's environment: this one's without OPENAI_* and LEADSYNC_* (a developer's
    own keys must not reach a test or a benchmark), on these servers and namespace, metrics on any
    free port, with `more` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LEADSYNC_"))}
    env.update(DATABASE_URL=database_url, AMQP_URL=amqp_url, BROKER_NAMESPACE=namespace, METRICS_PORT="0")
    env.update(more)
    return env


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

    def readyz(self, service: str) -> str | None:
        """Where `service` answers /readyz: the webhook on PORT; a consumer on the free port its
        health server took (METRICS_PORT=0) and logged; None until it has logged one."""
        if service == "webhook":
            return f"{self.url}/readyz"
        for line in self.logs().splitlines():
            if line.startswith("{") and '"health.listening"' in line:
                record = json.loads(line)
                if record.get("service") == service:
                    return f"http://127.0.0.1:{record['port']}/readyz"
        return None

    def logs(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), timeout)


@contextlib.asynccontextmanager
async def running(
    env: dict[str, str],
    *services: str,
    extra_env: dict[str, str] | None = None,
    ready_timeout: float = 30,
) -> AsyncIterator[Stack]:
    """Run `leadsync run SERVICES` until the block ends; waits until every one answers /readyz."""
    port = free_port()
    full_env = {
        **env,
        "PORT": str(port),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "METRICS_PORT": "0",
        **(extra_env or {}),
    }
    log = tempfile.NamedTemporaryFile(prefix="leadsync-stack-", suffix=".log", delete=False)
    command = [sys.executable, "-m", "leadsync", "run", *services]
    proc = await asyncio.create_subprocess_exec(*command, env=full_env, stdout=log, stderr=log)
    stack = Stack(proc, port, log.name)
    try:
        await _wait_ready(stack, services or SERVICES, ready_timeout)
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
    async with httpx.AsyncClient(timeout=1) as client:

        async def ready(url: str | None) -> bool:
            if url is None:
                return False
            try:
                return (await client.get(url)).status_code == 200
            except httpx.HTTPError:
                return False

        async def all_ready() -> bool:
            if stack.proc.returncode is not None:
                raise RuntimeError(f"leadsync run exited early:\n{stack.logs()}")
            return all(await asyncio.gather(*(ready(stack.readyz(s)) for s in services)))

        await eventually(all_ready, what=f"{', '.join(services)} ready", timeout=timeout, detail=stack.logs)
