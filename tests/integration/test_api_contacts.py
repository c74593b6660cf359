"""Admin API contacts: filtered keyset pages that never repeat or skip, and the activity log."""

from __future__ import annotations

import pytest

from services.assigner.consumer import handle
from services.assigner.pipelines import PipelineCache
from shared.broker import Delivery
from tests.support.admin_api import admin_client
from tests.support.assigner import make_page, make_pipeline, scored


@pytest.fixture
async def api(clean_db, service_env, publisher):
    async with admin_client(service_env, clean_db, publisher) as client:
        yield client


@pytest.fixture
async def contacts(clean_db):
    """Seventeen contacts of PAGE_A placed by the assigner, three of another page."""
    await make_page(clean_db, await make_pipeline(clean_db))
    msgs = [scored(f"u{i}", 5 if i % 2 else 45) for i in range(17)]
    await handle(Delivery(msgs, "m", 1), pool=clean_db, cache=PipelineCache())
    await clean_db.executemany(
        "INSERT INTO contacts (page_id, platform, external_id) VALUES ('OTHER', 'instagram', $1)",
        [(f"x{i}",) for i in range(3)],
    )


async def walk(api, **params):
    seen, cursor, pages = [], None, 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await api.get("/api/contacts", params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


async def test_pages_through_a_page_and_a_stage_without_repeats(api, clean_db, contacts):
    seen, pages = await walk(api, page_id="PAGE_A", limit=5)
    assert pages == 4 and len({c["id"] for c in seen}) == len(seen) == 17
    assert [c["id"] for c in seen] == sorted(c["id"] for c in seen)
    stage = await clean_db.fetchval("SELECT id::text FROM stages WHERE name = 'New'")
    in_new, _ = await walk(api, page_id="PAGE_A", stage_id=stage, limit=3)
    assert len(in_new) == 8 and {c["stage_name"] for c in in_new} == {"New"}
    everyone, _ = await walk(api)
    assert len(everyone) == 20


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"stage_id": "nope"}, "stage_id"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": "eyJ4IjoxfQ"}, "cursor"),
        ({"sort": "x"}, "sort"),
    ],
)
async def test_bad_query_is_422_naming_the_parameter(api, query, field):
    r = await api.get("/api/contacts", params=query)
    assert (r.status_code, r.json()["field"]) == (422, field)


async def test_one_contact_with_its_activity_log(api, clean_db, contacts):
    await handle(Delivery([scored("u1", 70, at=1)], "m2", 1), pool=clean_db, cache=PipelineCache())
    contact_id = await clean_db.fetchval("SELECT id::text FROM contacts WHERE external_id = 'u1'")
    r = await api.get(f"/api/contacts/{contact_id}")
    assert r.status_code == 200
    body = r.json()
    assert (body["external_id"], body["stage_name"], body["lead_score"]) == ("u1", "Negotiation", 70)
    assert [(a["type"], a["from_stage"], a["to_stage"]) for a in body["activities"]] == [
        ("STAGE_CHANGED", "New", "Negotiation"),
        ("STAGE_CHANGED", None, "New"),
    ]
    assert body["activities"][0]["details"]["rule"] == "score_range"
    assert (await api.get("/api/contacts/6c4d0c3e-8d8e-4a51-9d57-000000000000")).status_code == 404
    assert (await api.get("/api/contacts/not-a-uuid")).status_code == 404
