"""Customer names looked up from the simulated Graph API: cached, and never an error."""

from __future__ import annotations

import asyncio

import httpx

from leadsync.sim.graph import SimGraph, serving
from shared.crypto import TokenCipher
from shared.graph import GraphClient
from shared.profiles import Profiles
from shared.settings import GraphSettings
from tests.support import secrets as test_secrets
from tests.support.backfill import add_page

TOKEN = "EAAprofiletesttoken0123456789abcdefUVW"


async def test_names_are_looked_up_once_and_missing_ones_are_none(clean_db, service_env):
    key = service_env["TOKEN_ENCRYPTION_KEY"]
    sim = SimGraph(app_secret=test_secrets.APP_SECRET)
    sim.add_page("PP", TOKEN, messenger=3, instagram=2, instagram_account_id="IGP")
    shy = sim.pages["PP"].conversations["messenger"][2]
    sim.no_consent.add(shy.customer_id)
    await add_page(clean_db, key, "PP", TOKEN, instagram="IGP")
    await add_page(clean_db, key, "PX", "EAAunknowntoken0123456789abcdefghij")
    async with serving(sim) as url, httpx.AsyncClient() as http:
        settings = GraphSettings(
            graph_api_base_url=url, token_encryption_key=key, meta_app_secret=test_secrets.APP_SECRET
        )
        profiles = Profiles.from_settings(settings, clean_db, http)
        assert profiles is not None
        keyless = GraphSettings(token_encryption_key=None)
        assert Profiles.from_settings(keyless, clean_db, http) is None  # no key, no lookups
        messenger = sim.pages["PP"].conversations["messenger"][0]
        instagram = sim.pages["PP"].conversations["instagram"][1]
        assert await profiles.lookup("PP", "messenger", messenger.customer_id) == messenger.customer_name
        assert await profiles.lookup("PP", "instagram", instagram.customer_id) == instagram.customer_name
        assert await profiles.lookup("PP", "messenger", messenger.customer_id) == messenger.customer_name
        assert sim.calls["profile"] == 2  # the repeat came from the cache
        # No consent yet (230), an unknown customer, a page whose token Meta refuses, no page.
        assert await profiles.lookup("PP", "messenger", shy.customer_id) is None
        assert await profiles.lookup("PP", "messenger", "nobody") is None
        assert await profiles.lookup("PX", "messenger", messenger.customer_id) is None
        assert await profiles.lookup("NOPAGE", "messenger", messenger.customer_id) is None
        assert await profiles.lookup("PP", "messenger", shy.customer_id) is None
        assert sim.calls["profile"] == 5


async def test_a_slow_graph_api_is_asked_again_later_and_the_name_still_arrives(clean_db, service_env):
    key = service_env["TOKEN_ENCRYPTION_KEY"]
    sim = SimGraph(latency=0.8, app_secret=test_secrets.APP_SECRET)
    sim.add_page("PS", TOKEN, messenger=1)
    await add_page(clean_db, key, "PS", TOKEN)
    async with serving(sim) as url, httpx.AsyncClient() as http:
        graph = GraphClient(
            http, base_url=url, version="v25.0", calls_per_second=50, app_secret=test_secrets.APP_SECRET
        )
        arrived: list[str] = []

        async def on_name(page, platform, contact, name):
            arrived.append(name)

        profiles = Profiles(
            clean_db, graph, TokenCipher(key), timeout_s=0.2, retry_after_s=(0.1, 0.1), on_name=on_name
        )
        customer = sim.pages["PS"].conversations["messenger"][0]
        # Never a wait for the caller; each try costs at most the timeout, then it is tried again.
        assert profiles.known("PS", "messenger", customer.customer_id) is None
        assert await profiles.lookup("PS", "messenger", customer.customer_id) is None
        assert sim.calls["profile"] == 3 and arrived == []
        sim.latency = 0
        assert profiles.known("PS", "messenger", customer.customer_id) is None  # failure cached
        fresh = Profiles(clean_db, graph, TokenCipher(key), timeout_s=0.5, on_name=on_name)
        assert await fresh.lookup("PS", "messenger", customer.customer_id) == customer.customer_name
        assert arrived == [customer.customer_name]
        await profiles.close()
        await fresh.close()


async def test_a_burst_of_new_customers_is_paced_per_page_and_each_is_asked_once(clean_db, service_env):
    """In-process, where nothing else slows the calls down: the limiter is what holds them."""
    key = service_env["TOKEN_ENCRYPTION_KEY"]
    sim = SimGraph(app_secret=test_secrets.APP_SECRET)
    rate, customers = 20, 300
    for page, token in (("PA", TOKEN), ("PB", TOKEN + "B")):
        sim.add_page(page, token)
        await add_page(clean_db, key, page, token)
    sim.profiles.update({f"u{i}": f"Customer {i}" for i in range(customers)})
    async with serving(sim) as url, httpx.AsyncClient() as http:
        settings = GraphSettings(
            graph_api_base_url=url,
            token_encryption_key=key,
            meta_app_secret=test_secrets.APP_SECRET,
            graph_profile_calls_per_second=rate,
        )
        found: dict[tuple[str, str], str] = {}

        async def on_name(page, platform, contact, name):
            found[(page, contact)] = name

        profiles = Profiles.from_settings(settings, clean_db, http, on_name=on_name)
        assert profiles is not None
        # Every customer asked for twice (two messages each): one lookup each, never waiting.
        for _ in range(2):
            for i in range(customers):
                assert profiles.known("PA" if i % 2 else "PB", "messenger", f"u{i}") is None
        await asyncio.gather(
            *(profiles.lookup("PA" if i % 2 else "PB", "messenger", f"u{i}") for i in range(customers))
        )
        assert profiles.known("PA", "messenger", "u1") == "Customer 1"  # cached now
        await profiles.close()
    assert sim.calls["profile"] == customers
    assert found == {("PA" if i % 2 else "PB", f"u{i}"): f"Customer {i}" for i in range(customers)}
    for page in ("PA", "PB"):
        assert sim.busiest_profile_second(page) <= rate
