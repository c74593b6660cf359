"""The analyzer over real RabbitMQ and Postgres, talking to a fake LLM through the openai client."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import orjson

from shared.broker import Publisher
from shared.headers import header_text
from tests.fakes.llm import (
    HANG,
    MALFORMED,
    OK,
    OUT_OF_RANGE,
    RATE_LIMITED,
    SERVER_ERROR,
    UNKNOWN_STATUS,
    FakeLLM,
)
from tests.support.analyzer import T0, event, new_job, queue_empty, run, uid
from tests.support.topology import queue_depth


async def test_an_event_is_stored_scored_by_the_llm_and_published(analyzer_env):
    contact = uid("c")
    async with FakeLLM(score=81) as llm, run(analyzer_env, llm_base_url=llm.base_url):
        await analyzer_env["publisher"].publish(event(contact, "How much?", "Order two please"))
        [scored] = await analyzer_env["watcher"].wait_for(lambda _: analyzer_env["watcher"].of(contact))
    assert scored.analysis.lead_score == 81 and not scored.analysis.used_fallback
    assert scored.message_count == 2 and scored.analyzed_through == T0 + timedelta(seconds=1)
    assert scored.contact_name == "Ana" and scored.origin == "webhook"
    stored = await analyzer_env["pool"].fetchval(
        "SELECT count(*) FROM messages WHERE contact_external_id = $1", contact
    )
    assert stored == 2


async def test_every_fault_mode_ends_in_a_valid_contact_scored(analyzer_env):
    faults = [RATE_LIMITED, SERVER_ERROR, HANG, MALFORMED, OUT_OF_RANGE, UNKNOWN_STATUS, OK]
    contacts = {uid(f"fault_{f}"): f for f in faults}

    def responder(body, _n):
        transcript = body["messages"][-1]["content"]
        return next(f for c, f in contacts.items() if f"fault {c}" in transcript)

    async with FakeLLM(responder=responder) as llm, run(analyzer_env, llm_base_url=llm.base_url):
        for c in contacts:
            await analyzer_env["publisher"].publish(event(c, f"fault {c}: price? +63 917 555 0142"))
        await analyzer_env["watcher"].wait_for(lambda _: all(analyzer_env["watcher"].of(c) for c in contacts))
    for contact, fault in contacts.items():
        [scored] = analyzer_env["watcher"].of(contact)
        analysis = scored.analysis
        if fault == OUT_OF_RANGE:  # the model said 250 and -20: clamped, not refused
            assert (analysis.lead_score, analysis.confidence) == (100, 0)
        if fault in (OK, OUT_OF_RANGE):
            assert not analysis.used_fallback
        else:
            assert analysis.used_fallback, fault
            assert "contact details shared (phone)" in analysis.reasoning
    assert llm.outcomes[HANG] == 3 and llm.outcomes[OUT_OF_RANGE] == 1
    assert await queue_empty(analyzer_env)


async def test_a_burst_is_analysed_once_and_a_redelivery_not_at_all(analyzer_env):
    contact = uid("burst")
    burst = [event(contact, f"message {i}?", start=i) for i in range(5)]
    async with FakeLLM() as llm, run(analyzer_env, llm_base_url=llm.base_url, analyzer_debounce_s=1.0):
        for e in burst:
            await analyzer_env["publisher"].publish(e)
            await asyncio.sleep(0.05)
        await analyzer_env["watcher"].wait_for(lambda _: analyzer_env["watcher"].of(contact))
        assert llm.calls == 1
        [scored] = analyzer_env["watcher"].of(contact)
        assert scored.message_count == 5
        assert scored.analyzed_through == T0 + timedelta(seconds=4)
        # The same events again (a redelivery or a webhook retry): nothing new to analyse.
        for e in burst:
            await analyzer_env["publisher"].publish(e, message_id=uid("again"))
        async with asyncio.timeout(10):
            while not await queue_empty(analyzer_env):
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # a wasted analysis would have been published by now
    assert llm.calls == 1 and len(analyzer_env["watcher"].of(contact)) == 1


async def test_a_batch_is_settled_as_a_whole(analyzer_env):
    contacts = [uid("batch") for _ in range(3)]
    async with FakeLLM(latency=0.5) as llm, run(analyzer_env, llm_base_url=llm.base_url, llm_timeout_s=5):
        await analyzer_env["publisher"].publish_batch([event(c, "hi, price?") for c in contacts])
        await analyzer_env["watcher"].wait_for(lambda _: all(analyzer_env["watcher"].of(c) for c in contacts))
    assert llm.calls == 3 and llm.max_in_flight == 3  # the items ran concurrently
    assert await queue_empty(analyzer_env)
    # The delivery's results went out together: one contact.scored message of three (issue 15).
    assert analyzer_env["watcher"].bodies == [3]


async def test_a_batch_publishes_what_is_done_without_waiting_for_a_slow_item(analyzer_env):
    fast, slow = uid("fast"), uid("slow")

    def responder(body, _n):
        return HANG if slow in body["messages"][-1]["content"] else OK

    async with (
        FakeLLM(responder=responder, hang_s=4.0) as llm,
        run(analyzer_env, llm_base_url=llm.base_url, llm_timeout_s=10),
    ):
        await analyzer_env["publisher"].publish_batch(
            [event(fast, f"price? {fast}"), event(slow, f"price? {slow}")]
        )
        await analyzer_env["watcher"].wait_for(lambda _: analyzer_env["watcher"].of(fast), timeout=3)
        assert not analyzer_env["watcher"].of(slow)
        await analyzer_env["watcher"].wait_for(lambda _: analyzer_env["watcher"].of(slow))
    assert analyzer_env["watcher"].bodies == [1, 1]


async def test_edits_replace_text_and_unsent_messages_are_not_scored(analyzer_env):
    contact = uid("edit")
    first = event(contact, "I want the red one", "my secret plan")
    edit = event(contact, "I want the blue one", edit_count=1)
    unsend = event(contact, "", start=1, deleted=True)
    async with FakeLLM() as llm, run(analyzer_env, llm_base_url=llm.base_url, analyzer_debounce_s=0.05):
        for e in (first, edit, unsend):
            await analyzer_env["publisher"].publish(e)
            await analyzer_env["watcher"].wait_for(lambda _, n=len(llm.requests): len(llm.requests) > n)
    last = llm.requests[-1]["messages"][-1]["content"]
    assert "I want the blue one" in last
    assert "red one" not in last and "secret plan" not in last
    rows = await analyzer_env["pool"].fetch(
        "SELECT text, deleted FROM messages WHERE contact_external_id = $1 ORDER BY mid", contact
    )
    assert [(r["text"], r["deleted"]) for r in rows] == [("I want the blue one", False), (None, True)]


async def test_events_of_a_cancelled_job_make_no_llm_call(analyzer_env):
    contact = uid("cancelled")
    job_id = await new_job(analyzer_env["pool"], uid("page"), status="CANCELLED")
    async with FakeLLM() as llm, run(analyzer_env, llm_base_url=llm.base_url):
        await analyzer_env["publisher"].publish(event(contact, "price?", origin="backfill", job_id=job_id))
        async with asyncio.timeout(10):
            while not await queue_empty(analyzer_env):
                await asyncio.sleep(0.05)
    assert llm.calls == 0 and analyzer_env["watcher"].of(contact) == []


async def test_a_covered_backfill_event_still_reports_to_its_job(analyzer_env):
    contact = uid("covered")
    page = uid("page")
    job_a, job_b = await new_job(analyzer_env["pool"], page), None
    async with FakeLLM() as llm, run(analyzer_env, llm_base_url=llm.base_url):
        await analyzer_env["publisher"].publish(
            event(contact, "price?", page=page, origin="backfill", job_id=job_a)
        )
        await analyzer_env["watcher"].wait_for(lambda _: analyzer_env["watcher"].of(contact))
        await analyzer_env["pool"].execute("UPDATE jobs SET status = 'COMPLETED' WHERE id = $1::uuid", job_a)
        job_b = await new_job(analyzer_env["pool"], page)
        await analyzer_env["publisher"].publish(
            event(contact, "price?", page=page, origin="backfill", job_id=job_b)
        )
        await analyzer_env["watcher"].wait_for(lambda _: len(analyzer_env["watcher"].of(contact)) == 2)
    first, second = analyzer_env["watcher"].of(contact)
    assert llm.calls == 1
    assert (first.job_id, second.job_id) == (job_a, job_b)
    assert second.analysis == first.analysis


async def test_page_echoes_alone_are_stored_but_not_analysed(analyzer_env):
    contact = uid("echo")
    async with FakeLLM() as llm, run(analyzer_env, llm_base_url=llm.base_url):
        await analyzer_env["publisher"].publish(event(contact, "Thanks for your message!", from_page=True))
        async with asyncio.timeout(10):
            while not await queue_empty(analyzer_env):
                await asyncio.sleep(0.05)
        await analyzer_env["publisher"].publish(event(contact, "how much?", start=1))
        await analyzer_env["watcher"].wait_for(lambda _: analyzer_env["watcher"].of(contact))
    assert llm.calls == 1
    said = orjson.loads(llm.requests[0]["messages"][-1]["content"])["messages"]
    assert [(m["speaker"], m["text"]) for m in said] == [
        ("page", "Thanks for your message!"),
        ("customer", "how much?"),
    ]


async def test_a_known_name_is_used_and_an_unknown_one_never_waits(analyzer_env):
    slow, fast = uid("slow"), uid("fast")

    def names(page_id, platform, contact_id):
        # What Profiles.known answers: the cached name, or None (looked up in the background).
        return f"Name of {contact_id}" if contact_id == fast else None

    async with run(analyzer_env, names=names):
        await analyzer_env["publisher"].publish(event(fast, "hi", name=None))
        await analyzer_env["publisher"].publish(event(slow, "hi", name=None))
        await analyzer_env["watcher"].wait_for(
            lambda _: analyzer_env["watcher"].of(fast) and analyzer_env["watcher"].of(slow)
        )
    assert analyzer_env["watcher"].of(fast)[0].contact_name == f"Name of {fast}"
    assert analyzer_env["watcher"].of(slow)[0].contact_name is None


async def test_an_empty_backfilled_conversation_settles_its_item(analyzer_env):
    contact = uid("empty")
    job_id = await new_job(analyzer_env["pool"], uid("page"))
    async with run(analyzer_env):
        await analyzer_env["publisher"].publish(event(contact, origin="backfill", job_id=job_id))
        async with asyncio.timeout(10):
            while not await queue_empty(analyzer_env):
                await asyncio.sleep(0.05)
    row = await analyzer_env["pool"].fetchrow("SELECT synced_contacts FROM jobs WHERE id = $1::uuid", job_id)
    assert row["synced_contacts"] == 1


async def test_a_finally_failing_event_records_its_job_item_failed(analyzer_env):
    contact = uid("doomed")
    job_id = await new_job(analyzer_env["pool"], uid("page"))
    # Publishing contact.scored fails every time: RabbitMQ for it is unreachable, for longer
    # than the retry budget (24 h in production, 2 s here).
    broken = Publisher("amqp://guest:guest@127.0.0.1:1/", analyzer_env["topology"], timeout=1)
    async with run(analyzer_env, publisher=broken, retry_budget_s=2):
        await analyzer_env["publisher"].publish(event(contact, "price?", origin="backfill", job_id=job_id))
        async with asyncio.timeout(20):
            while (
                await analyzer_env["pool"].fetchval(
                    "SELECT failed_contacts FROM jobs WHERE id = $1::uuid", job_id
                )
                == 0
            ):
                await asyncio.sleep(0.05)
    item = await analyzer_env["pool"].fetchrow(
        "SELECT outcome, error FROM job_items WHERE job_id = $1::uuid", job_id
    )
    assert item["outcome"] == "FAILED" and "RabbitMQ" in item["error"]
    errors = await analyzer_env["pool"].fetchval("SELECT errors FROM jobs WHERE id = $1::uuid", job_id)
    assert errors[0]["id"] == contact


async def test_an_event_with_a_malformed_job_id_is_dead_lettered_at_once(analyzer_env):
    import aio_pika

    contact = uid("badjob")
    async with run(analyzer_env):
        await analyzer_env["publisher"].publish(event(contact, "hi", origin="backfill", job_id="not-a-uuid"))
        conn = await aio_pika.connect(analyzer_env["amqp_url"])
        async with conn:
            channel = await conn.channel()
            dead = await channel.get_queue(
                analyzer_env["topology"].dead(analyzer_env["topology"].queue("analyzer"))
            )
            async with asyncio.timeout(10):
                while (message := await dead.get(fail=False)) is None:
                    await asyncio.sleep(0.05)
            await message.ack()
    assert "not a job id" in (header_text(message.headers, "x-leadsync-error") or "")
    assert message.headers["x-leadsync-deliveries"] == 1
    assert analyzer_env["watcher"].of(contact) == []


async def test_the_prompt_carries_the_stages_of_the_pages_auto_pipeline(analyzer_env):
    contact, page = uid("staged"), uid("page")
    pool = analyzer_env["pool"]
    pipeline = await pool.fetchval("INSERT INTO pipelines (name) VALUES ('Sales') RETURNING id")
    await pool.executemany(
        "INSERT INTO stages (pipeline_id, name, type, position, lead_score_min, lead_score_max) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (pipeline, "Fresh", "LEAD", 0, 0, 30),
            (pipeline, "Talking", "IN_PROGRESS", 1, 31, 80),
            (pipeline, "Closed", "WON", 2, 81, 100),
        ],
    )
    await pool.execute("INSERT INTO pages (id, name, auto_pipeline_id) VALUES ($1, $1, $2)", page, pipeline)
    async with FakeLLM() as llm, run(analyzer_env, llm_base_url=llm.base_url):
        await analyzer_env["publisher"].publish(event(contact, "price?", page=page))
        await analyzer_env["watcher"].wait_for(lambda _: analyzer_env["watcher"].of(contact))
    prompt_text = llm.requests[0]["messages"][1]["content"]
    assert (
        '[{"name":"Fresh","type":"LEAD","score_min":0,"score_max":30},'
        '{"name":"Talking","type":"IN_PROGRESS","score_min":31,"score_max":80},'
        '{"name":"Closed","type":"WON","score_min":81,"score_max":100}]'
    ) in prompt_text


async def test_customer_messages_a_scheduled_sync_stores_first_are_counted_as_reconciled(analyzer_env):
    from services.analyzer.consumer import RECONCILED

    page = uid("page")
    scheduled = await new_job(analyzer_env["pool"], page)
    await analyzer_env["pool"].execute("UPDATE jobs SET scheduled = true WHERE id = $1::uuid", scheduled)
    manual = await new_job(analyzer_env["pool"], uid("page"))
    live, missed, other = uid("live"), uid("missed"), uid("other")
    counter = RECONCILED.labels(page)
    before = counter._value.get()
    async with run(analyzer_env):
        # The webhook delivered this one's messages; the sync finds the same plus a page reply.
        await analyzer_env["publisher"].publish(event(live, "how much?", page=page))
        await analyzer_env["watcher"].wait_for(lambda _: analyzer_env["watcher"].of(live))
        synced = event(live, "how much?", page=page, origin="backfill", job_id=scheduled)
        reply = event(
            live, "it is 20", page=page, start=5, origin="backfill", job_id=scheduled, from_page=True
        )
        lost = event(missed, "still available?", "I want two", page=page, origin="backfill", job_id=scheduled)
        by_hand = event(other, "hello", page=manual, origin="backfill", job_id=manual)
        await analyzer_env["publisher"].publish_many([(e, None) for e in (synced, reply, lost, by_hand)])
        await analyzer_env["watcher"].wait_for(
            lambda _: analyzer_env["watcher"].of(missed) and analyzer_env["watcher"].of(other)
        )
    # Only the customer messages the webhook never brought, and only for the scheduled sync.
    assert counter._value.get() - before == 2


async def test_a_delivery_waiting_long_for_the_llm_is_acked_and_its_rest_published_again(analyzer_env):
    from services.analyzer.consumer import EVENTS

    contacts = [uid("slow") for _ in range(3)]
    deferred = EVENTS.labels("deferred")
    before = deferred._value.get()
    async with (
        FakeLLM(latency=1.0) as llm,
        run(analyzer_env, llm_base_url=llm.base_url, llm_concurrency=1, analyzer_hold_s=0.3, llm_timeout_s=5),
    ):
        await analyzer_env["publisher"].publish_batch(
            [
                event(
                    c,
                    "how much is it?",
                    origin="backfill",
                    job_id=await new_job(analyzer_env["pool"], uid("page")),
                )
                for c in contacts
            ]
        )
        scored = await analyzer_env["watcher"].wait_for(
            lambda items: all(any(s.contact_id == c for s in items) for c in contacts), timeout=30
        )
        async with asyncio.timeout(20):  # the last copies find their analyses done and settle
            while not await queue_empty(analyzer_env):
                await asyncio.sleep(0.1)
    assert deferred._value.get() > before  # the held delivery let go of what was still waiting
    assert llm.calls == 3  # the copies found their analyses done: no LLM call twice
    assert {s.contact_id for s in scored} >= set(contacts)
    dead = analyzer_env["topology"].dead(analyzer_env["topology"].queue("analyzer"))
    assert await queue_depth(analyzer_env["amqp_url"], dead) == 0
