"""The chaos suite's machinery: services under a restarting supervisor, and the faults themselves.

Fault targets come from the environment and default to the machine's own servers (what CI
uses): LEADSYNC_CHAOS_PG_CLUSTER ("15 main", a `pg_ctlcluster` version and name) and
LEADSYNC_CHAOS_RABBITMQ_NODE (empty: rabbitmqctl's default node). Before any fault the suite
checks that the target is the server DATABASE_URL / AMQP_URL point at, so it never breaks a
server this session does not use. Every fault restores what it broke in a `finally`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import asyncpg

SERVICES = ("webhook", "analyzer", "assigner", "backfill")


@dataclass(frozen=True)
class Targets:
    pg_version: str
    pg_cluster: str
    rabbit_node: str | None

    @classmethod
    def from_env(cls) -> Targets:
        version, _, name = os.environ.get("LEADSYNC_CHAOS_PG_CLUSTER", "15 main").partition(" ")
        return cls(version, name.strip() or "main", os.environ.get("LEADSYNC_CHAOS_RABBITMQ_NODE") or None)

    def rabbitmqctl(self, *args: str) -> list[str]:
        node = ["-n", self.rabbit_node] if self.rabbit_node else []
        return ["rabbitmqctl", *node, *args]


async def run_cmd(*argv: str, timeout: float = 120) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {text[-2000:]}")
    return text


async def check_alone(admin_dsn: str, database: str) -> None:
    """Refuse to restart servers other sessions are using (another helper's tests, a demo)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        others = await conn.fetch(
            """SELECT DISTINCT datname FROM pg_stat_activity
               WHERE backend_type = 'client backend' AND datname IS NOT NULL
                 AND datname NOT IN ($1, 'postgres') AND pid <> pg_backend_pid()""",
            database,
        )
    finally:
        await conn.close()
    if others:
        names = ", ".join(sorted(r["datname"] for r in others))
        raise AssertionError(
            f"other sessions use this Postgres ({names}); the chaos suite restarts whole servers: "
            "point DATABASE_URL/AMQP_URL and LEADSYNC_CHAOS_PG_CLUSTER/LEADSYNC_CHAOS_RABBITMQ_NODE "
            "at private instances (docs/decisions.md, issue 10)"
        )


async def check_targets(targets: Targets, database_url: str, amqp_url: str) -> None:
    """Refuse to fault a server other than the one this session's URLs point at."""
    pg_port = urlsplit(database_url).port or 5432
    clusters = await run_cmd("pg_lsclusters", "-h")
    ports = {(c[0], c[1]): int(c[2]) for c in (line.split() for line in clusters.splitlines()) if len(c) > 2}
    if ports.get((targets.pg_version, targets.pg_cluster)) != pg_port:
        raise AssertionError(
            f"LEADSYNC_CHAOS_PG_CLUSTER={targets.pg_version} {targets.pg_cluster} does not listen on "
            f"port {pg_port} of DATABASE_URL; point both at the same (private) server"
        )
    amqp_port = urlsplit(amqp_url).port or 5672
    listeners = await run_cmd(
        *(
            ["rabbitmq-diagnostics", "-q"]
            + (["-n", targets.rabbit_node] if targets.rabbit_node else [])
            + ["listeners"]
        )
    )
    amqp = {int(m) for m in re.findall(r"port: (\d+), protocol: amqp", listeners)}
    if amqp_port not in amqp:
        raise AssertionError(
            f"RabbitMQ node {targets.rabbit_node or '(default)'} does not serve AMQP on port "
            f"{amqp_port} of AMQP_URL; set LEADSYNC_CHAOS_RABBITMQ_NODE to the node you use"
        )


# --- faults -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def database_refused(admin_dsn: str, database: str) -> AsyncIterator[None]:
    """The project database refuses connections and its sessions are terminated, until the block ends."""
    conn = await asyncpg.connect(admin_dsn)
    quoted = '"' + database.replace('"', '""') + '"'
    try:
        await conn.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS false")
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database
        )
        yield
    finally:
        await conn.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS true")
        await conn.close()


async def restart_postgres(targets: Targets) -> None:
    await run_cmd(
        "pg_ctlcluster",
        "--skip-systemctl-redirect",
        targets.pg_version,
        targets.pg_cluster,
        "restart",
        "-m",
        "fast",
    )


async def ensure_postgres(targets: Targets) -> None:
    with contextlib.suppress(RuntimeError):  # already running
        await run_cmd(
            "pg_ctlcluster", "--skip-systemctl-redirect", targets.pg_version, targets.pg_cluster, "start"
        )


@contextlib.asynccontextmanager
async def rabbitmq_stopped(targets: Targets) -> AsyncIterator[None]:
    try:
        await run_cmd(*targets.rabbitmqctl("stop_app"))
        yield
    finally:
        await run_cmd(*targets.rabbitmqctl("start_app"))
        await run_cmd(*targets.rabbitmqctl("await_startup"))


async def ensure_rabbitmq(targets: Targets) -> None:
    await run_cmd(*targets.rabbitmqctl("start_app"))


# --- services ---------------------------------------------------------------------------------


@dataclass
class Service:
    name: str
    proc: asyncio.subprocess.Process
    log_path: str
    restarts: int = 0


@dataclass
class Supervisor:
    """Each service as its own process (`python -m services.<name>`), restarted when it dies,
    as a process manager (systemd, compose `restart: unless-stopped`) would."""

    env: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)
    _watchers: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: bool = False

    async def start(self, *names: str) -> None:
        for name in names:
            self.services[name] = await self._spawn(name, None)
            self._watchers.append(asyncio.create_task(self._watch(name)))

    async def _spawn(self, name: str, log_path: str | None) -> Service:
        path = (
            log_path or tempfile.NamedTemporaryFile(prefix=f"chaos-{name}-", suffix=".log", delete=False).name
        )
        log = open(path, "ab")  # the child writes to it for its whole life
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"services.{name}", env=self.env, stdout=log, stderr=log
        )
        log.close()
        return Service(name, proc, path)

    def stopping(self) -> bool:
        return self._stopping

    async def _watch(self, name: str) -> None:
        while not self.stopping():
            service = self.services[name]
            await service.proc.wait()
            if self.stopping():  # set while this one waited
                return
            await asyncio.sleep(0.3)
            restarted = await self._spawn(name, service.log_path)
            restarted.restarts = service.restarts + 1
            self.services[name] = restarted

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash or an OOM kill would; the supervisor starts it again."""
        proc = self.services[name].proc
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)

    def logs(self, name: str) -> str:
        with open(self.services[name].log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    async def stop(self) -> None:
        self._stopping = True
        for service in self.services.values():
            if service.proc.returncode is None:
                service.proc.send_signal(signal.SIGTERM)
        for service in self.services.values():
            try:
                await asyncio.wait_for(service.proc.wait(), 30)
            except TimeoutError:
                service.proc.kill()
                await service.proc.wait()
        for task in self._watchers:
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        if os.environ.get("LEADSYNC_KEEP_LOGS") is None:
            for service in self.services.values():
                with contextlib.suppress(OSError):
                    os.unlink(service.log_path)
