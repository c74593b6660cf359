"""A stack connected to the simulated Meta (login, tokens, subscriptions, debug_token) with
three pages of one user, for the tests that connect pages."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from leadsync.sim.graph import SimGraph, serving
from tests.support import secrets as test_secrets
from tests.support.backfill import api
from tests.support.stack import Stack, running

USER = "10150000000000042"
PAGES = {
    "201": ("Casa Sofía", 6, None),
    "202": ("Ola Surf", 4, "17841400000000202"),
    "203": ("Third Shop", 2, None),
}


def simulated_meta(
    pages: dict[str, tuple[str, int, str | None]] = PAGES,
    user: tuple[str, str] = (USER, "Sofía Owner"),
    token: str = "EAAPconnect{}token0123456789abcdef",
    latency: float = 0.0,
) -> SimGraph:
    """The simulated Meta with `pages` (name, Messenger threads, Instagram account) of one user."""
    sim = SimGraph(latency=latency, app_secret=test_secrets.APP_SECRET)
    for i, (page_id, (name, threads, ig)) in enumerate(pages.items()):
        sim.add_page(
            page_id,
            token.format(page_id),
            name=name,
            messenger=threads,
            instagram=2 if ig else 0,
            instagram_account_id=ig,
            seed=i,
        )
    sim.meta.add_user(user[0], user[1], list(pages))
    return sim


@contextlib.asynccontextmanager
async def connected_stack(
    service_env: dict[str, str], **extra: str
) -> AsyncIterator[tuple[SimGraph, Stack, httpx.AsyncClient]]:
    sim = simulated_meta()
    async with (
        serving(sim) as url,
        running(
            service_env,
            extra_env={
                "GRAPH_API_BASE_URL": url,
                "META_WEB_BASE_URL": url,
                "META_APP_ID": sim.meta.app_id,
                "GRAPH_CALLS_PER_SECOND": "50",
                **extra,
            },
        ) as stack,
        api(stack.url, service_env) as client,
    ):
        yield sim, stack, client
