"""`leadsync run [services…]`: start services as child processes; stop them all together."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

SERVICES = ("webhook", "analyzer", "assigner", "backfill")
# Services serve health and metrics on their own default port unless METRICS_PORT is set (then
# METRICS_PORT + i; 0 gives each a free port).
METRICS_OFFSETS = {"webhook": 0, "analyzer": 1, "assigner": 2, "backfill": 3}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="run services (all four by default) until Ctrl-C")
    p.add_argument("services", nargs="*", metavar="SERVICE", help=f"any of {', '.join(SERVICES)}")
    p.set_defaults(func=run)


def child_env(service: str, base: dict[str, str]) -> dict[str, str]:
    env = dict(base)
    if service in METRICS_OFFSETS and env.get("METRICS_PORT", "").isdigit():
        port = int(env["METRICS_PORT"])
        env["METRICS_PORT"] = str(port + METRICS_OFFSETS[service] if port else 0)
    return env


async def supervise(services: list[str], env: dict[str, str]) -> int:
    """Run the services; on a signal or when one exits, stop the rest. Returns the exit code."""
    procs: dict[str, asyncio.subprocess.Process] = {}
    for name in services:
        procs[name] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{name}", env=child_env(name, env)
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waits = {asyncio.ensure_future(p.wait()): name for name, p in procs.items()}
    stopper = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({*waits, stopper}, return_when=asyncio.FIRST_COMPLETED)
    failed = [waits[t] for t in done if t in waits]
    for proc in procs.values():
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs.values())), timeout=30)
    except TimeoutError:
        for proc in procs.values():
            if proc.returncode is None:
                proc.kill()
        await asyncio.gather(*(p.wait() for p in procs.values()))
    stopper.cancel()
    if failed and not stop.is_set():
        codes = ", ".join(f"{n} exited with {procs[n].returncode}" for n in failed)
        print(f"leadsync: {codes}; stopped the others", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    unknown = [s for s in args.services if s not in SERVICES]
    if unknown:
        print(
            f"leadsync run: unknown service {unknown[0]!r}; choose from {', '.join(SERVICES)}",
            file=sys.stderr,
        )
        return 2
    services = list(dict.fromkeys(args.services)) or list(SERVICES)
    return asyncio.run(supervise(services, dict(os.environ)))
