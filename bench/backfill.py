"""Benchmark of a full backfill: 10,000 conversations through the real services to COMPLETED.

    .venv/bin/python bench/backfill.py [--conversations 10000] [--pages 2]

A simulated Graph API (2 calls/s per page and per Instagram account, code 613 beyond it, 20 ms
per call) runs in a process of its own, a fake OpenAI-compatible LLM (200 ms per call) in this
one; the backfill,
analyzer and assigner services run as child processes with LLM_CONCURRENCY 100, on a database
and broker namespace of their own. Prints wall time, Graph calls per conversation, the ratio of
wall time to the bound max(LLM bound, Graph bound), the peak memory of every service process,
and how many rate-limit answers (613) the client provoked. Goals: ≤ 0.1 calls per conversation,
wall ≤ 1.5 x bound, < 200 MB per process, zero 613.

It also prints the CPU each process group spent per conversation while the jobs ran, read from
/proc (bench/proc_cpu.py): Postgres (the postmaster, its live backends and the ones that ended),
RabbitMQ (the node listening on AMQP_URL's port), each service, and the fakes (the simulated
Graph API's process; this process, which is the fake LLM plus the job watcher). Goal (issue 15):
≤ 4 ms per conversation summed over the services, Postgres and RabbitMQ.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proc_cpu import group_cpu, listening_pid  # noqa: E402

from leadsync.sim.graph import SimGraph, serving  # noqa: E402
from shared import db, job_admin  # noqa: E402
from shared.broker import Publisher, Topology, delete_topology  # noqa: E402
from shared.crypto import TokenCipher  # noqa: E402
from shared.messages import BackfillRequested  # noqa: E402
from shared.settings import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL  # noqa: E402
from shared.vocabulary import ACTIVE_JOB_STATUSES, JobKind  # noqa: E402
from tests.support.stack import process_env  # noqa: E402

try:
    from tests.fakes.llm import FakeLLM
except ImportError:  # the fake LLM lives with the analyzer's tests
    FakeLLM = None  # type: ignore[assignment,misc]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--conversations", type=int, default=10_000)
    p.add_argument("--pages", type=int, default=2, help="pages, each with Messenger and Instagram")
    p.add_argument("--page-size", type=int, default=100, help="conversations per Graph call")
    p.add_argument("--graph-latency", type=float, default=0.02)
    p.add_argument("--graph-rate", type=float, default=2.0, help="calls/s per page and IG account")
    p.add_argument("--llm-latency", type=float, default=0.2)
    p.add_argument("--llm-concurrency", type=int, default=100)
    p.add_argument("--long-every", type=int, default=50, help="every Nth thread has 45 messages")
    p.add_argument(
        "--analyzer-from",
        default=str(ROOT),
        help="source tree to run the analyzer service from (default: this one)",
    )
    p.add_argument("--timeout", type=float, default=900)
    return p.parse_args()


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build_sim(args: argparse.Namespace, tokens: list[str], app_secret: str) -> SimGraph:
    sim = SimGraph(latency=args.graph_latency, rate_limit=args.graph_rate, app_secret=app_secret)
    per_object = args.conversations // (len(tokens) * 2)
    for i, token in enumerate(tokens):
        sim.add_page(
            f"BENCH{i}",
            token,
            messenger=per_object,
            instagram=per_object,
            instagram_account_id=f"IGB{i}",
            long_every=args.long_every,
            seed=i,
        )
    return sim


def serve_sim(args: argparse.Namespace, tokens: list[str], app_secret: str, ready: Any) -> None:
    """The simulated Graph API in a process of its own: its clock is not shared with the fake LLM."""

    async def serve() -> None:
        async with serving(build_sim(args, tokens, app_secret)) as url:
            ready.put(url)
            await asyncio.Event().wait()

    asyncio.run(serve())


async def spawn(service: str, env: dict[str, str], tree: str, log: Path) -> asyncio.subprocess.Process:
    out = log.open("wb")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"services.{service}",
        cwd=tree,
        stdout=out,
        stderr=out,
        env={**env, "PYTHONPATH": tree, "PYTHONDONTWRITEBYTECODE": "1"},
    )


async def prepare(args: argparse.Namespace, database_url: str, key: str, tokens: list[str]) -> None:
    """A migrated database of the run's own, with the pages and their encrypted tokens."""
    await db.migrate(database_url)
    if Path(args.analyzer_from).resolve() != ROOT:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "leadsync",
            "migrate",
            cwd=args.analyzer_from,
            env={
                **os.environ,
                "DATABASE_URL": database_url,
                "PYTHONPATH": args.analyzer_from,
                "PYTHONDONTWRITEBYTECODE": "1",
            },
            stdout=asyncio.subprocess.DEVNULL,
        )
        await proc.wait()
    conn = await db.connect(database_url)
    cipher = TokenCipher(key)
    for i, token in enumerate(tokens):
        await conn.execute(
            "INSERT INTO pages (id, name, access_token_enc, instagram_account_id) VALUES ($1, $2, $3, $4)",
            f"BENCH{i}",
            f"Bench shop {i}",
            cipher.encrypt(token),
            f"IGB{i}",
        )
    await conn.close()


async def run_jobs(
    pool: Any, amqp_url: str, namespace: str, pages: int, timeout: float
) -> tuple[list[str], float, float]:
    """Start a FULL job per page; returns the job ids, the wall time and when the walk ended."""
    publisher = Publisher(amqp_url, Topology(namespace))
    started = time.monotonic()
    job_ids = []
    async with pool.acquire() as conn:
        for i in range(pages):
            job, _ = await job_admin.create(conn, f"BENCH{i}", JobKind.FULL)
            job_ids.append(job["id"])
    await publisher.publish_many([(BackfillRequested(job_id=j), None) for j in job_ids])
    await publisher.close()
    enumerated = None
    next_report = 10.0
    while time.monotonic() - started < timeout:
        rows = await pool.fetch(
            "SELECT status, enumeration_done, coalesce(total_contacts, 0) AS total, "
            "synced_contacts + failed_contacts AS settled FROM jobs WHERE id = ANY($1::uuid[])",
            job_ids,
        )
        if enumerated is None and all(r["enumeration_done"] for r in rows):
            enumerated = time.monotonic() - started
        if time.monotonic() - started >= next_report:
            # Where the work is: enumerated by the walk, analysed (contacts), settled.
            contacts = await pool.fetchval("SELECT count(*) FROM contacts")
            print(
                f"  t={next_report:4.0f}s enumerated {sum(r['total'] for r in rows):6d} "
                f"contacts {contacts:6d} settled {sum(r['settled'] for r in rows):6d}",
                flush=True,
            )
            next_report += 10
        if all(r["status"] not in ACTIVE_JOB_STATUSES for r in rows):
            break
        await asyncio.sleep(0.1)
    wall = time.monotonic() - started
    return job_ids, wall, enumerated or wall


def cpu_roots(database_url: str, amqp_url: str, procs: dict[str, Any], sim_pid: int | None) -> dict[str, int]:
    """The root process of every group whose CPU the run reports (those /proc shows)."""
    roots: dict[str, int] = {}
    for name, url, port in (("postgres", database_url, 5432), ("rabbitmq", amqp_url, 5672)):
        pid = listening_pid(urlsplit(url).port or port)
        if pid is not None:
            roots[name] = pid
    roots.update({name: p.pid for name, p in procs.items()})
    if sim_pid is not None:
        roots["graph sim"] = sim_pid
    return roots


async def main(args: argparse.Namespace) -> int:
    run_id = uuid.uuid4().hex[:8]
    base_db = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    database_url = base_db.rsplit("/", 1)[0] + f"/leadsync_bench_{run_id}"
    amqp_url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    namespace = f"lsbench_{run_id}"
    key = Fernet.generate_key().decode()
    app_secret = uuid.uuid4().hex
    logs = Path(tempfile.mkdtemp(prefix="leadsync-bench-"))
    tokens = [f"EAAbench{i}{uuid.uuid4().hex}" for i in range(args.pages)]
    total = args.conversations // (args.pages * 2) * args.pages * 2
    await prepare(args, database_url, key, tokens)

    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    sim_proc = ctx.Process(target=serve_sim, args=(args, tokens, app_secret, ready), daemon=True)
    sim_proc.start()
    graph_url = await asyncio.get_running_loop().run_in_executor(None, ready.get, True, 120)
    pool = await db.create_pool(database_url, min_size=1, max_size=4)
    llm_cm = FakeLLM(latency=args.llm_latency) if FakeLLM is not None else contextlib.nullcontext()
    procs: dict[str, asyncio.subprocess.Process] = {}
    async with llm_cm as llm:
        env = process_env(
            database_url,
            amqp_url,
            namespace,
            LOG_LEVEL="warning",
            TOKEN_ENCRYPTION_KEY=key,
            META_APP_SECRET=app_secret,
            GRAPH_API_BASE_URL=graph_url,
            GRAPH_CALLS_PER_SECOND=str(args.graph_rate),
            BACKFILL_PAGE_SIZE=str(args.page_size),
            LLM_CONCURRENCY=str(args.llm_concurrency),
            LLM_RPM="1000000",
            LLM_TPM="1000000000",
        )
        if llm is not None:
            env.update(OPENAI_API_KEY="bench-key", OPENAI_BASE_URL=llm.base_url)
        try:
            procs["backfill"] = await spawn("backfill", env, str(ROOT), logs / "backfill.log")
            procs["assigner"] = await spawn("assigner", env, str(ROOT), logs / "assigner.log")
            procs["analyzer"] = await spawn("analyzer", env, args.analyzer_from, logs / "analyzer.log")
            await asyncio.sleep(3)  # consumers declare the topology and start listening
            roots = cpu_roots(database_url, amqp_url, procs, sim_proc.pid)
            cpu_before, own_before = group_cpu(roots), time.process_time()
            job_ids, wall, enumerated = await run_jobs(pool, amqp_url, namespace, args.pages, args.timeout)
            cpu_after, own_after = group_cpu(roots), time.process_time()
            rss = {name: peak_rss_mb(p.pid) for name, p in procs.items()}
        finally:
            for p in procs.values():
                if p.returncode is None:
                    p.terminate()
            await asyncio.gather(*(p.wait() for p in procs.values()))
        llm_calls = llm.calls if llm is not None else 0
    async with httpx.AsyncClient() as http:
        stats = (await http.get(f"{graph_url}/_sim/stats")).json()
    sim_proc.terminate()
    sim_proc.join()
    jobs = await pool.fetch("SELECT * FROM jobs WHERE id = ANY($1::uuid[])", job_ids)
    contacts = await pool.fetchval("SELECT count(*) FROM contacts")
    # Which index the contact lookups used, and how many index entries each read (issue 15).
    indexes = await pool.fetch(
        "SELECT indexrelname, idx_scan, idx_tup_read FROM pg_stat_user_indexes "
        "WHERE relname = 'contacts' AND idx_scan > 0 ORDER BY idx_scan DESC"
    )
    await pool.close()
    await db.drop_database(database_url)
    await delete_topology(amqp_url, Topology(namespace))

    calls = sum(stats["calls"].values())
    limited = stats["rate_limited"]
    llm_bound = total * args.llm_latency / args.llm_concurrency
    graph_bound = max(stats["calls_by_object"].values()) / args.graph_rate
    bound = max(llm_bound, graph_bound)
    settled = sum(j["synced_contacts"] + j["failed_contacts"] for j in jobs)
    print(
        f"conversations        {total} on {args.pages} pages x 2 platforms "
        f"({len(stats['calls_by_object'])} rate-limited objects)"
    )
    print(
        f"jobs                 {', '.join(j['status'] for j in jobs)}; settled {settled}/{total}; "
        f"contacts {contacts}"
    )
    print(f"wall                 {wall:.1f} s (Graph walk done after {enumerated:.1f} s)")
    print(f"graph calls          {calls} = {calls / total:.4f} per conversation (goal <= 0.1)")
    print(
        f"bound                {bound:.1f} s = max(LLM {llm_bound:.1f} s, Graph {graph_bound:.1f} s "
        f"[busiest object; all calls / {args.graph_rate:g}/s = {calls / args.graph_rate:.1f} s])"
    )
    print(f"wall / bound         {wall / bound:.2f} (goal <= 1.5)")
    print(f"rate-limit answers   {limited} (goal 0)")
    print(f"llm calls            {llm_calls}" + ("" if llm is not None else " (tests.fakes.llm missing)"))
    cpu = {name: cpu_after[name] - cpu_before[name] for name in roots}
    cpu["bench + fake LLM"] = own_after - own_before
    system = sum(cpu[n] for n in ("postgres", "rabbitmq", *procs) if n in cpu)
    print(
        f"CPU per conversation {system / total * 1000:.2f} ms over the services, Postgres and "
        f"RabbitMQ (goal <= 4); by group: "
        + ", ".join(f"{n} {s / total * 1000:.2f}" for n, s in cpu.items())
        + " ms"
    )
    print(
        "contacts indexes     "
        + ", ".join(
            f"{r['indexrelname']} {r['idx_scan']} scans, {r['idx_tup_read'] / r['idx_scan']:.1f} entries each"
            for r in indexes
        )
    )
    print(
        "peak RSS             "
        + ", ".join(f"{n} {mb:.0f} MB" for n, mb in rss.items())
        + " (goal < 200 MB each)"
    )
    ok = (
        calls / total <= 0.1
        and wall <= 1.5 * bound
        and limited == 0
        and all(mb < 200 for mb in rss.values())
        and settled == total
    )
    print("result               " + ("all goals met" if ok else f"goal missed (logs in {logs})"))
    if ok:
        shutil.rmtree(logs, ignore_errors=True)  # the service logs only matter when a goal is missed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
