"""Job bookkeeping on the real database: one active job per page, one worker per job, the scheduler."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from services.backfill import repository, scheduler
from services.backfill.repository import Item
from shared import job_admin
from shared.errors import ClaimLost
from tests.support import secrets as test_secrets
from tests.support.backfill import add_page

KEY = test_secrets.FERNET_KEY


async def create(pool, page_id, kind="FULL"):
    async with pool.acquire() as conn:
        return await job_admin.create(conn, page_id, kind)


async def test_racing_requests_make_exactly_one_active_job_per_page(clean_db):
    await add_page(clean_db, KEY, "PJ", "EAAjobstesttoken0123456789abcdefgh")
    results = await asyncio.gather(*(create(clean_db, "PJ") for _ in range(8)))
    assert sum(created for _, created in results) == 1
    assert len({job["id"] for job, _ in results}) == 1
    assert await clean_db.fetchval("SELECT count(*) FROM jobs") == 1


async def test_only_one_worker_claims_a_job_and_a_stale_one_is_taken_over(clean_db):
    await add_page(clean_db, KEY, "PJ", "EAAjobstesttoken0123456789abcdefgh")
    job, _ = await create(clean_db, "PJ")
    claims = await asyncio.gather(*(repository.claim(clean_db, job["id"], f"w{i}", 30) for i in range(6)))
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    owner = winners[0]["claimed_by"]
    assert await repository.claim(clean_db, job["id"], "late", 30) is None
    await clean_db.execute("UPDATE jobs SET heartbeat_at = now() - interval '1 minute'")
    claimed = await repository.claim(clean_db, job["id"], "rescuer", 30)
    assert claimed is not None and claimed["claimed_by"] == "rescuer"
    # The old owner finds out at its next write and writes nothing.
    assert await repository.beat(clean_db, job["id"], owner) is False
    with pytest.raises(ClaimLost):
        await repository.record(clean_db, job["id"], owner, {"after": "x"}, [Item("messenger", "U1")])
    assert await clean_db.fetchval("SELECT count(*) FROM job_enumerated") == 0
    assert await repository.claim(clean_db, "not-a-uuid", "w", 30) is None


async def test_a_page_walked_twice_counts_its_conversations_once(clean_db):
    await add_page(clean_db, KEY, "PJ", "EAAjobstesttoken0123456789abcdefgh")
    job, _ = await create(clean_db, "PJ")
    await repository.claim(clean_db, job["id"], "w", 30)
    items = [
        Item("messenger", "U1"),
        Item("messenger", "U2"),
        Item("instagram", "U1"),
        Item("messenger", "U3", "FAILED", "boom", 100),
    ]
    await repository.record(clean_db, job["id"], "w", {"after": "a"}, items)
    await repository.record(clean_db, job["id"], "w", {"after": "a"}, items)  # a resumed walk
    assert await repository.finish_enumeration(clean_db, job["id"], "w") is False
    row = await clean_db.fetchrow("SELECT * FROM jobs")
    assert (row["total_contacts"], row["failed_contacts"], row["enumeration_done"]) == (4, 1, True)
    assert row["errors"] == [{"platform": "messenger", "id": "U3", "error": "boom", "code": 100}]


async def test_a_job_with_no_conversations_completes_at_once(clean_db):
    await add_page(clean_db, KEY, "PJ", "EAAjobstesttoken0123456789abcdefgh")
    job, _ = await create(clean_db, "PJ")
    await repository.claim(clean_db, job["id"], "w", 30)
    assert await repository.finish_enumeration(clean_db, job["id"], "w") is True
    row = await clean_db.fetchrow("SELECT j.*, p.last_synced_at FROM jobs j JOIN pages p ON p.id = j.page_id")
    assert row["status"] == "COMPLETED" and row["total_contacts"] == 0
    assert row["last_synced_at"] == row["started_at"]


async def test_scheduler_starts_due_syncs_once_and_hands_out_stale_jobs_once(clean_db, publisher):
    for page_id, extra in {
        "DUE": {"sync_interval_s": 3600},
        "FRESH": {},
        "OFF": {"auto_sync": False},
        "EXPIRED": {"token_status": "expired"},
        "NEVER": {},
        "BUSY": {},
    }.items():
        await add_page(clean_db, KEY, page_id, "EAAschedulertoken0123456789abcdef", **extra)
    await clean_db.execute(
        "UPDATE pages SET last_synced_at = now() - interval '2 hours' "
        "WHERE id IN ('DUE', 'OFF', 'EXPIRED', 'BUSY')"
    )
    await clean_db.execute(
        "UPDATE pages SET last_synced_at = now() - interval '5 minutes' WHERE id = 'FRESH'"
    )
    busy, _ = await create(clean_db, "BUSY")
    await repository.claim(clean_db, busy["id"], "dead-worker", 30)
    await clean_db.execute(
        "UPDATE jobs SET heartbeat_at = now() - interval '1 minute', updated_at = now() - interval '1 minute'"
    )
    rounds = await asyncio.gather(*(scheduler.tick(clean_db, publisher, stale_after_s=30) for _ in range(3)))
    requested = [j for r in rounds for j in r]
    jobs = await clean_db.fetch("SELECT page_id, kind, status FROM jobs ORDER BY page_id")
    assert [(j["page_id"], j["kind"]) for j in jobs] == [("BUSY", "FULL"), ("DUE", "INCREMENTAL")]
    assert sorted(requested) == sorted(
        [
            busy["id"],
            *(str(j["id"]) for j in await clean_db.fetch("SELECT id FROM jobs WHERE page_id = 'DUE'")),
        ]
    )
    assert await scheduler.tick(clean_db, publisher, stale_after_s=30) == []


async def _walked_job(pool, page_id: str, contacts: list[str]) -> str:
    await add_page(pool, KEY, page_id, "EAAjobstesttoken0123456789abcdefgh")
    job, _ = await create(pool, page_id)
    await repository.claim(pool, job["id"], "w", 30)
    await repository.record(pool, job["id"], "w", {"after": None}, [Item("messenger", c) for c in contacts])
    assert await repository.finish_enumeration(pool, job["id"], "w") is False
    return str(job["id"])


async def _age(pool, job_id: str, seconds: float) -> None:
    """Pretend the job started and its items settled `seconds` ago."""
    await pool.execute(
        "UPDATE jobs SET started_at = started_at - make_interval(secs => $2), "
        "heartbeat_at = heartbeat_at - make_interval(secs => $2) WHERE id = $1::uuid",
        job_id,
        seconds,
    )
    await pool.execute(
        "UPDATE job_items SET created_at = created_at - make_interval(secs => $2) WHERE job_id = $1::uuid",
        job_id,
        seconds,
    )


async def test_a_job_whose_items_never_settle_is_completed_by_the_sweep_with_their_reason(
    clean_db, publisher
):
    from shared import settlement as jobs

    job_id = await _walked_job(clean_db, "PA", ["U1", "U2", "U3"])
    async with clean_db.acquire() as conn, conn.transaction():
        await jobs.settle_item(conn, job_id, "messenger", "U1", "SYNCED")
    # U2 and U3 were dead-lettered by the broker (a process crashed on them): nothing settles them.
    await _age(clean_db, job_id, 120)
    await scheduler.tick(clean_db, publisher, stale_after_s=0.3, settle_timeout_s=60)
    assert (await clean_db.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id))[
        "status"
    ] == "IN_PROGRESS"
    await asyncio.sleep(0.4)
    await scheduler.tick(clean_db, publisher, stale_after_s=0.3, settle_timeout_s=60)
    done = await clean_db.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id)
    assert (done["status"], done["synced_contacts"], done["failed_contacts"]) == ("COMPLETED", 1, 2)
    items = await clean_db.fetch(
        "SELECT contact_external_id, outcome, error FROM job_items WHERE job_id = $1::uuid ORDER BY 1", job_id
    )
    assert [(i["contact_external_id"], i["outcome"]) for i in items] == [
        ("U1", "SYNCED"),
        ("U2", "FAILED"),
        ("U3", "FAILED"),
    ]
    assert "not settled within 60s" in items[1]["error"]
    assert [e["id"] for e in done["errors"]] == ["U2", "U3"]
    # The page is free again: a new backfill makes a new job.
    job, created = await create(clean_db, "PA")
    assert created and str(job["id"]) != job_id


async def test_a_job_that_moves_again_is_not_abandoned(clean_db, publisher):
    from shared import settlement as jobs

    job_id = await _walked_job(clean_db, "PB", ["U1", "U2"])
    await _age(clean_db, job_id, 120)
    await scheduler.tick(clean_db, publisher, stale_after_s=0.3, settle_timeout_s=60)  # marked stalled
    await asyncio.sleep(0.4)
    # The database came back and the analyzer settles what it held meanwhile.
    async with clean_db.acquire() as conn, conn.transaction():
        await jobs.settle_item(conn, job_id, "messenger", "U1", "SYNCED")
    await scheduler.tick(clean_db, publisher, stale_after_s=0.3, settle_timeout_s=60)
    row = await clean_db.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id)
    assert (row["status"], row["synced_contacts"], row["failed_contacts"]) == ("IN_PROGRESS", 1, 0)
    # A walked job needs no worker: it is not handed out again and again.
    assert job_id not in await repository.stale_jobs(clean_db, 0)


async def test_a_graph_page_is_published_in_batches_of_at_most_20_with_repeatable_ids(
    clean_db, amqp_url, namespace
):
    import aio_pika

    from services.backfill import walk
    from services.backfill.settings import BackfillSettings
    from shared.broker import Publisher
    from shared.graph_parse import Conversation, ConversationPage
    from shared.messages import ChatMessage, ConversationUpdated, decode
    from tests.support.topology import private_topology

    await clean_db.execute("INSERT INTO pages (id, name) VALUES ('PBATCH', 'Batch shop')")
    job_id = str(
        await clean_db.fetchval(
            "INSERT INTO jobs (page_id, kind, status, claimed_by, started_at) "
            "VALUES ('PBATCH', 'FULL', 'IN_PROGRESS', 'w1', now()) RETURNING id"
        )
    )
    job = await clean_db.fetchrow("SELECT * FROM jobs WHERE id = $1::uuid", job_id)
    page = await clean_db.fetchrow("SELECT * FROM pages WHERE id = 'PBATCH'")
    now = datetime.now(UTC)
    result = ConversationPage(
        [
            Conversation(
                f"t{i}",
                "messenger",
                now,
                f"U{i:02d}",
                None,
                [ChatMessage(mid=f"m{i}", text="price?", sent_at=now)],
            )
            for i in range(45)
        ],
        None,
    )
    async with private_topology(amqp_url, namespace) as topology:
        publisher = Publisher(amqp_url, topology)
        try:
            runner = SimpleNamespace(
                pool=clean_db, publisher=publisher, graph=None, settings=BackfillSettings(), worker_id="w1"
            )
            run = walk.JobWalk(runner, job, page, "t")
            await run._enumerate_and_publish("messenger", result)
            await run._enumerate_and_publish("messenger", result)  # the page walked again
        finally:
            await publisher.close()
        conn = await aio_pika.connect(amqp_url)
        bodies = []
        async with conn:
            queue = await (await conn.channel()).get_queue(topology.queue("analyzer"))
            while (msg := await queue.get(no_ack=True, fail=False)) is not None:
                bodies.append(
                    (
                        msg.message_id,
                        decode(ConversationUpdated, msg.body, batch=bool(msg.headers.get("batch"))),
                    )
                )
    sizes = [len(items) for _, items in bodies]
    assert sorted(sizes[:3]) == sorted(sizes[3:]) == [5, 20, 20]
    ids = [mid for mid, _ in bodies]
    assert set(ids[:3]) == set(ids[3:]) and len(set(ids)) == 3  # a repeat has the same ids
    assert sorted(e.contact_id for _, items in bodies[:3] for e in items) == [f"U{i:02d}" for i in range(45)]
    assert await clean_db.fetchval("SELECT total_contacts FROM jobs WHERE id = $1::uuid", job_id) == 45
