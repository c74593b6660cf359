"""The Graph API client against the simulated Graph API over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator

import httpx
import pytest

from leadsync.sim.graph import SimGraph, serving
from shared.errors import GraphError, RateLimited, TokenInvalid
from shared.graph import GraphClient
from tests.support import secrets as test_secrets

TOKEN = "EAAtestpagetoken0123456789abcdef"


@pytest.fixture
async def sim() -> AsyncIterator[SimGraph]:
    graph = SimGraph(app_secret=test_secrets.APP_SECRET)
    graph.add_page("P1", TOKEN, messenger=7, instagram=3, instagram_account_id="IG1", long_every=5)
    async with serving(graph):
        yield graph


def client(sim: SimGraph, http: httpx.AsyncClient, rate: float = 50, **kw) -> GraphClient:
    kw.setdefault("app_secret", test_secrets.APP_SECRET)
    return GraphClient(
        http,
        base_url=sim.base_url,
        version="v25.0",
        calls_per_second=rate,
        backoff=(0.01, 0.05),
        rate_limit_wait=(0.05, 0.5),
        **kw,
    )


async def walk(graph: GraphClient, platform="messenger", limit=3, pace="P1", token=TOKEN):
    seen, failures, after = [], [], None
    while True:
        page = await graph.conversations(
            "P1", platform, token, after=after, limit=limit, page_objects=["IG1"], pace=pace
        )
        seen += page.conversations
        failures += page.failures
        if page.after is None:
            return seen, failures
        after = page.after


async def test_walks_every_conversation_with_its_messages_in_one_call_per_page(sim):
    async with httpx.AsyncClient() as http:
        graph = client(sim, http)
        convs, failures = await walk(graph)
    assert failures == []
    assert len(convs) == 7 and len({c.contact_id for c in convs}) == 7
    assert sim.calls["conversations"] == 3  # 7 threads in pages of 3, messages expanded
    assert sim.calls["messages"] == 0
    first = convs[0]
    assert first.contact_name and first.messages
    assert [m.sent_at for m in first.messages] == sorted(m.sent_at for m in first.messages)
    # The customer's side and the page's side are told apart by the participants.
    assert all(
        not m.from_page
        for m in first.messages
        if m.text in {t for f, t in sim.pages["P1"].conversations["messenger"][0].turns if not f}
    )
    # A 45-message thread shows its newest 20 and says where the older ones continue.
    long = convs[1]
    assert len(long.messages) == 20 and long.more_after is not None


async def test_older_messages_of_a_long_thread_come_page_by_page(sim):
    async with httpx.AsyncClient() as http:
        graph = client(sim, http)
        convs, _ = await walk(graph)
        long = convs[1]
        older, after = await graph.messages(
            long.id, TOKEN, own={"P1"}, after=long.more_after, limit=100, pace="P1"
        )
    assert after is None
    assert len(older) == 25
    assert {m.mid for m in older}.isdisjoint({m.mid for m in long.messages})


async def test_too_much_data_halves_the_page_and_one_bad_conversation_fails_alone(sim):
    bad = sim.pages["P1"].conversations["messenger"][2]
    sim.failing.add(bad.id)
    async with httpx.AsyncClient() as http:
        convs, failures = await walk(client(sim, http), limit=4)
    assert len(convs) == 6
    assert [(f.contact_id, f.code) for f in failures] == [(bad.customer_id, 100)]
    assert TOKEN not in failures[0].error


async def test_rate_limit_answers_are_waited_out_and_the_walk_continues(sim):
    sim.rate_limit = 2
    async with httpx.AsyncClient() as http:
        convs, _ = await walk(client(sim, http, rate=100), limit=2)
    assert len(convs) == 7
    assert sim.rate_limited >= 1  # the client was too fast on purpose here, and recovered


async def test_pacing_at_the_page_limit_provokes_no_rate_limit_answers(sim):
    sim.rate_limit = 10
    async with httpx.AsyncClient() as http:
        await walk(client(sim, http, rate=10), limit=1)
        await walk(client(sim, http, rate=10), platform="instagram", limit=1, pace="IG1")
    assert sim.rate_limited == 0
    assert sim.calls["conversations"] == 10


async def test_a_call_sent_late_does_not_bring_the_next_calls_within_the_limit(sim):
    # A busy event loop sends a granted call late; the next ones must not bunch up behind it.
    sim.rate_limit = 2
    sent = 0

    async def late_first(_: httpx.Request) -> None:
        nonlocal sent
        sent += 1
        if sent == 1:
            await asyncio.sleep(0.45)

    async with httpx.AsyncClient(event_hooks={"request": [late_first]}) as http:
        convs, _ = await walk(client(sim, http, rate=2), limit=3)
    assert len(convs) == 7
    assert sim.rate_limited == 0


async def test_expired_token_raises_token_invalid_without_the_token_in_it(sim):
    sim.expired_tokens.add(TOKEN)
    async with httpx.AsyncClient() as http:
        with pytest.raises(TokenInvalid) as info:
            await walk(client(sim, http))
    assert info.value.code == 190 and info.value.subcode == 463
    assert TOKEN not in str(info.value)


async def test_server_errors_are_retried_then_reported_without_the_token(sim):
    async with httpx.AsyncClient() as http:
        graph = GraphClient(
            http,
            base_url="http://127.0.0.1:9",
            version="v25.0",
            calls_per_second=100,
            attempts=2,
            backoff=(0.01, 0.02),
        )
        with pytest.raises(Exception) as info:
            await graph.conversations("P1", "messenger", TOKEN, after=None, limit=5, pace="P1")
    assert "unreachable" in str(info.value) and TOKEN not in str(info.value)
    assert graph.calls == 2


async def test_usage_headers_near_the_limit_slow_the_client_down(sim):
    sim.usage_percent = 100
    async with httpx.AsyncClient() as http:
        graph = client(sim, http, rate=100)
        await graph.conversations("P1", "messenger", TOKEN, after=None, limit=1, pace="P1")
        # The next call on this page waits (4 intervals at 100 %); another page does not.
        assert graph._resume_at["P1"] > 0
        assert "IG1" not in graph._resume_at
    assert not isinstance(RateLimited("x", 4), TokenInvalid)


@pytest.mark.parametrize("secret", [None, "another-apps-secret-0123456789"])
async def test_a_call_without_the_right_appsecret_proof_is_refused_like_meta_does(sim, secret):
    async with httpx.AsyncClient() as http:
        graph = client(sim, http, app_secret=secret)
        with pytest.raises(GraphError) as err:
            await graph.conversations("P1", "messenger", TOKEN, after=None, limit=3, pace="P1")
    assert err.value.code == 100 and "appsecret_proof" in err.value.message
    assert sim.meta.proof_refusals == 1


async def test_every_call_carries_the_hmac_of_its_token_keyed_with_the_app_secret(sim):
    async with httpx.AsyncClient() as http:
        seen, _ = await walk(client(sim, http))
        assert seen and sim.meta.proof_refusals == 0
        params = client(sim, http).token_params(TOKEN)
    expected = hmac.new(test_secrets.APP_SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
    assert params == {"access_token": TOKEN, "appsecret_proof": expected}
