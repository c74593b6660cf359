"""Soak benchmark: a long stream of signed deliveries through `leadsync simulate`, memory and queues watched.

    .venv/bin/python bench/soak.py [--count 100000] [--concurrency 8] [--sample-s 2]

Starts `leadsync run webhook analyzer assigner` on a database and broker namespace of its own
(fallback scorer: the point is the services, not an LLM), registers the page with an auto
pipeline, and sends `--count` realistic deliveries with `leadsync simulate`. Every `--sample-s`
it samples each service's RSS and the depth of the analyzer and assigner queues. After the
traffic it waits for the queues to drain and reports, per service, the RSS at the end of the
warm-up (the first `--warmup` fraction of the run) and at the end: goal (issue 10) no growth
after warm-up (less than 10 % or 20 MiB), queues back to 0, nothing dead-lettered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support is not an installed package

from analyzer_harness import run_namespace  # noqa: E402

from shared import db  # noqa: E402
from shared.broker import Topology, delete_topology  # noqa: E402
from tests.support.stack import process_env  # noqa: E402
from tests.support.topology import queue_depth  # noqa: E402

SECRET = "soak-app-secret-0123456789"
ADMIN = "soak-admin-token-0123456789abcdef0123"
PAGE = "PAGE_SOAK"
SERVICES = ("webhook", "analyzer", "assigner")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> dict[str, int]:
    """The service processes of `leadsync run`: {service: pid}, read from /proc."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) != pid:
            continue
        for arg in cmd:
            if arg.startswith(b"services."):
                found[arg.decode().removeprefix("services.")] = int(entry.name)
    return found


@dataclass
class Samples:
    times: list[float] = field(default_factory=list)
    rss: dict[str, list[float]] = field(default_factory=dict)
    depth: dict[str, list[int]] = field(default_factory=dict)


async def sample(pids: dict[str, int], amqp_url: str, topology: Topology, out: Samples, t0: float) -> None:
    out.times.append(time.monotonic() - t0)
    for name, pid in pids.items():
        with contextlib.suppress(OSError):
            out.rss.setdefault(name, []).append(rss_mib(pid))
    for service in ("analyzer", "assigner"):
        queue = topology.queue(service)
        out.depth.setdefault(service, []).append(await queue_depth(amqp_url, queue))


async def main(args: argparse.Namespace) -> int:
    run_id, dsn, amqp_url, topology = run_namespace("soak")
    await db.migrate(dsn)
    port = free_port()
    env = process_env(
        dsn,
        amqp_url,
        topology.namespace,
        PORT=str(port),
        META_APP_SECRET=SECRET,
        META_VERIFY_TOKEN="soak-verify",
        ADMIN_TOKEN=ADMIN,
        TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        LOG_LEVEL="warning",
        ANALYZER_DEBOUNCE_S="0.5",
        GRAPH_API_BASE_URL="http://127.0.0.1:9",
    )  # no name lookups leave the machine
    log = open(f"/tmp/leadsync-soak-{run_id}.log", "wb")  # the services' output, kept for a look
    stack = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "leadsync", "run", *SERVICES, env=env, stdout=log, stderr=log
    )
    samples = Samples()
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as api:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if (await api.get("/readyz")).status_code == 200 and len(children(stack.pid)) == 3:
                        break
                await asyncio.sleep(0.1)
            pipeline = (
                await api.post(
                    "/api/pipelines",
                    json={
                        "name": "Soak",
                        "stages": [{"name": "New", "type": "LEAD"}, {"name": "Hot", "type": "IN_PROGRESS"}],
                    },
                )
            ).json()["id"]
            r = await api.post(
                "/api/pages",
                json={
                    "id": PAGE,
                    "name": "Soak",
                    "access_token": "EAAsoak0123456789",
                    "auto_pipeline_id": pipeline,
                    "auto_sync": False,
                },
            )
            r.raise_for_status()
        pids = children(stack.pid)
        t0 = time.monotonic()
        sender = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "leadsync",
            "simulate",
            "--url",
            f"{url}/webhooks/meta",
            "--secret",
            SECRET,
            "--count",
            str(args.count),
            "--page-id",
            PAGE,
            "--concurrency",
            str(args.concurrency),
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        waiter = asyncio.create_task(sender.communicate())
        while not waiter.done():
            await sample(pids, amqp_url, topology, samples, t0)
            await asyncio.wait({waiter}, timeout=args.sample_s)
        sent = (await waiter)[0].decode().strip()
        traffic_s = time.monotonic() - t0
        drain_deadline = time.monotonic() + 600
        while time.monotonic() < drain_deadline:
            await sample(pids, amqp_url, topology, samples, t0)
            if all(d[-1] == 0 for d in samples.depth.values()):
                break
            await asyncio.sleep(args.sample_s)
        dead = {
            s: await queue_depth(amqp_url, topology.dead(topology.queue(s))) for s in ("analyzer", "assigner")
        }
    finally:
        if stack.returncode is None:
            stack.send_signal(signal.SIGTERM)
            await asyncio.wait_for(stack.wait(), 60)
        log.close()
        await delete_topology(amqp_url, topology)
        await db.drop_database(dsn)
    return report(args, sent, traffic_s, samples, dead)


def report(args: argparse.Namespace, sent: str, traffic_s: float, s: Samples, dead: dict[str, int]) -> int:
    print(sent)
    print(f"traffic {traffic_s:.0f} s; {len(s.times)} samples every {args.sample_s:g} s")
    warm = next((i for i, t in enumerate(s.times) if t >= traffic_s * args.warmup), 0)
    grew = False
    for name, values in sorted(s.rss.items()):
        after_warmup, end, peak = values[warm], values[-1], max(values)
        growth = end - after_warmup
        flag = growth > max(20.0, 0.10 * after_warmup)
        grew |= flag
        print(
            f"{name:9} RSS after warm-up {after_warmup:6.1f} MiB, end {end:6.1f} MiB, "
            f"peak {peak:6.1f} MiB, growth {growth:+6.1f} MiB{'  <-- grows' if flag else ''}"
        )
    for name, depths in sorted(s.depth.items()):
        print(f"{name:9} queue depth max {max(depths)}, at the end {depths[-1]}")
    print(f"dead letters: {dead}")
    ok = not grew and all(d[-1] == 0 for d in s.depth.values()) and not any(dead.values())
    print("soak: OK, no growth after warm-up" if ok else "soak: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="deliveries to send (default 100000)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--sample-s", type=float, default=2.0)
    parser.add_argument("--warmup", type=float, default=0.2, help="fraction of the run that warms up")
    sys.exit(asyncio.run(main(parser.parse_args())))
