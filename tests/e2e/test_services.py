"""Each service starts alone as `python -m services.<name>`, serves health routes, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import tempfile

import httpx
import pytest

from tests.support.eventually import eventually
from tests.support.stack import free_port, running


async def _listening_port(log_path: str, proc: asyncio.subprocess.Process, timeout: float = 20) -> int:
    def port() -> int | None:
        with open(log_path) as f:
            for line in f:
                if line.startswith("{"):
                    record = json.loads(line)
                    if record.get("event") == "health.listening":
                        return int(record["port"])
        assert proc.returncode is None, f"service exited {proc.returncode}"
        return None

    def log() -> str:
        with open(log_path) as f:
            return f.read()

    found: int = await eventually(port, what="the service listening", timeout=timeout, detail=log)
    return found


@pytest.mark.parametrize("service", ["webhook", "analyzer", "assigner", "backfill"])
async def test_service_starts_alone_serves_health_and_stops_on_sigterm(service, service_env):
    public = free_port()
    env = {**service_env, "PORT": str(public)}
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{service}", env=env, stdout=log, stderr=log
        )
        try:
            port = await _listening_port(log.name, proc)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                ready = None
                for _ in range(100):
                    try:
                        ready = await client.get("/readyz")
                    except httpx.ConnectError:  # the port is bound just before serving starts
                        await asyncio.sleep(0.1)
                        continue
                    if ready.status_code == 200:
                        break
                    await asyncio.sleep(0.1)
                assert (await client.get("/healthz")).status_code == 200
                assert ready is not None and ready.json() == {"broker": "ok", "database": "ok"}
                metrics = await client.get("/metrics")
                assert metrics.status_code == 200 and "# TYPE" in metrics.text
            if service == "webhook":  # the public port serves health but never the metrics
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{public}") as client:
                    assert (await client.get("/readyz")).status_code == 200
                    assert (await client.get("/metrics")).status_code == 404
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0


async def test_leadsync_run_stops_every_service_on_sigterm(service_env):
    async with running(service_env) as stack:
        code = await stack.stop(signal.SIGTERM)
        logs = stack.logs()
    assert code == 0
    assert logs.count("consumer.started") == 3
    assert "exited with" not in logs
