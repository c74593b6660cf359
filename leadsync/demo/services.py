"""The demo's own copy of the four services: `leadsync run` as a child process, ready-checked."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

CONSUMERS = ("analyzer", "assigner", "backfill")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port(preferred: int) -> int:
    """`preferred` when it is free (a familiar URL), else any free port."""
    if preferred and _free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pick_metrics_base() -> int:
    """A port p with p..p+3 free: `leadsync run` gives the services METRICS_PORT + 0, 1, 2, 3."""
    for _ in range(50):
        base = pick_port(0)
        if all(_free(base + i) for i in range(0, 4)):
            return base
    raise RuntimeError("no four consecutive free ports for the services' health endpoints")


@dataclass
class Services:
    proc: asyncio.subprocess.Process
    url: str
    metrics_base: int
    log_path: Path

    def tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


@contextlib.asynccontextmanager
async def running(
    env: dict[str, str], *, port: int, log_path: Path, ready_within_s: float = 60
) -> AsyncIterator[Services]:
    """Start `leadsync run` with `env`; stop it (SIGTERM, then kill) when the block ends."""
    metrics = pick_metrics_base()
    full_env = {
        **env,
        "PORT": str(port),
        "METRICS_PORT": str(metrics),
        "PUBLIC_URL": env.get("PUBLIC_URL") or f"http://127.0.0.1:{port}",
    }
    with log_path.open("ab") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "leadsync",
            "run",
            env=full_env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the services ourselves
        )
    services = Services(proc, f"http://127.0.0.1:{port}", metrics, log_path)
    try:
        await _wait_ready(services, ready_within_s)
        yield services
    finally:
        await _stop(proc)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _wait_ready(services: Services, within_s: float) -> None:
    urls = [f"{services.url}/readyz"] + [
        f"http://127.0.0.1:{services.metrics_base + i}/readyz" for i in range(1, 4)
    ]
    deadline = asyncio.get_running_loop().time() + within_s
    async with httpx.AsyncClient(timeout=1) as client:
        while True:
            if services.proc.returncode is not None:
                raise RuntimeError(f"the services exited at start:\n{services.tail()}")
            ready = await asyncio.gather(*(_ok(client, u) for u in urls))
            if all(ready):
                return
            if asyncio.get_running_loop().time() > deadline:
                waiting = [name for name, ok in zip(("webhook", *CONSUMERS), ready, strict=True) if not ok]
                raise RuntimeError(
                    f"{', '.join(waiting)} not ready after {within_s:.0f}s:\n{services.tail()}"
                )
            await asyncio.sleep(0.2)


async def _ok(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False
