"""The ops console over HTTP with the real database and broker: login, screens, actions, progress."""

from __future__ import annotations

import re

import aio_pika
import httpx
import pytest

from services.webhook.app import create_app
from services.webhook.ops import session
from services.webhook.settings import WebhookSettings
from shared.broker import Publisher
from tests.support import secrets as test_secrets

TOKEN = test_secrets.ADMIN_TOKEN


@pytest.fixture
async def console(clean_db, amqp_url, topology, database_url):
    settings = WebhookSettings(
        meta_app_secret=test_secrets.APP_SECRET,
        meta_verify_token=test_secrets.VERIFY_TOKEN,
        admin_token=TOKEN,
        database_url=database_url,
        amqp_url=amqp_url,
        broker_namespace=topology.namespace,
    )
    publisher = Publisher(amqp_url, topology)
    app = create_app(settings, publisher=publisher, pool=clean_db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    await publisher.close()


async def seed(pool, pages: int = 45) -> None:
    await pool.executemany(
        "INSERT INTO pages (id, name, instagram_account_id, access_token_enc) VALUES ($1, $2, $3, $4)",
        [
            (f"10{i:02d}", f"Shop {i:02d}", f"ig{i}" if i % 2 else None, b"sealed-token")
            for i in range(1, pages + 1)
        ],
    )
    await pool.execute("INSERT INTO pages (id, name) VALUES ('2001', 'Bakery Manila')")


async def login(client: httpx.AsyncClient) -> str:
    r = await client.post("/ops/login", data={"token": TOKEN, "next": "/ops/"})
    assert r.status_code == 303
    return csrf_of((await client.get("/ops/")).text)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match, "no CSRF field on the page"
    return match[1]


async def test_without_a_session_everything_leads_to_the_login_form(console):
    r = await console.get("/ops", follow_redirects=True)
    assert r.status_code == 200 and r.url.path == "/ops/login" and 'type="password"' in r.text
    r = await console.get("/ops/stages")
    assert r.status_code == 303 and r.headers["location"] == "/ops/login?next=/ops/stages"
    r = await console.get("/ops/api/progress?page=1")
    assert r.status_code == 401 and r.json()["error"]
    r = await console.get("/ops/login")
    assert r.status_code == 200 and 'type="password"' in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]


async def test_login_sets_a_signed_httponly_strict_cookie_never_the_token(console):
    r = await console.post("/ops/login", data={"token": "wrong", "next": "/ops/"})
    assert r.status_code == 401 and "Wrong admin token" in r.text
    r = await console.post("/ops/login", data={"token": TOKEN, "next": "/ops/stages"})
    assert r.status_code == 303 and r.headers["location"] == "/ops/stages"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ops" in cookie
    assert TOKEN not in cookie and TOKEN not in r.headers["location"]
    assert (await console.get("/ops/stages")).status_code == 200
    # A forged or tampered cookie is no session.
    console.cookies.clear()
    console.cookies.set(session.COOKIE, "9999999999.deadbeef")
    assert (await console.get("/ops/")).status_code == 303


async def test_an_open_redirect_after_login_is_refused(console):
    r = await console.post("/ops/login", data={"token": TOKEN, "next": "//evil.example/"})
    assert r.headers["location"] == "/ops/"


async def test_sessions_end_when_idle_when_old_and_when_the_token_changes(console, clean_db):
    await login(console)
    cookie = console.cookies[session.COOKIE]
    assert (await console.get("/ops/")).status_code == 200
    # Idle for longer than 30 minutes: the login page.
    await clean_db.execute("UPDATE console_sessions SET last_seen_at = now() - interval '31 minutes'")
    assert (await console.get("/ops/")).status_code == 303
    await login(console)
    await clean_db.execute("UPDATE console_sessions SET expires_at = now() - interval '1 second'")
    assert (await console.get("/ops/")).status_code == 303
    # A session opened under another ADMIN_TOKEN is no session under this one.
    await login(console)
    await clean_db.execute(
        "UPDATE console_sessions SET admin_fp = $1",
        session.admin_fingerprint(test_secrets.ADMIN_TOKEN + "-old"),
    )
    assert (await console.get("/ops/")).status_code == 303
    # The table never holds the cookie itself, only its hash.
    stored = await clean_db.fetch("SELECT id_hash, csrf FROM console_sessions")
    assert stored and all(cookie.encode() not in bytes(r["id_hash"]) for r in stored)


async def test_two_logins_get_different_sessions_and_the_poll_keeps_none_alive(console, clean_db):
    await login(console)
    first = console.cookies[session.COOKIE]
    console.cookies.clear()
    await login(console)
    second = console.cookies[session.COOKIE]
    assert first != second and len(first) >= 40
    await clean_db.execute("UPDATE console_sessions SET last_seen_at = now() - interval '20 minutes'")
    assert (await console.get("/ops/api/progress?page=1")).status_code == 200
    seen = await clean_db.fetchval("SELECT max(last_seen_at) FROM console_sessions")
    assert seen < await clean_db.fetchval("SELECT now() - interval '19 minutes'")


async def test_pages_are_searchable_and_paginated(console, clean_db):
    await seed(clean_db)
    await login(console)
    first = (await console.get("/ops/")).text
    assert first.count("<tr data-page-id=") == 20
    assert "Page 1 of 3" in first and "Shop 01" in first and "Shop 21" not in first
    last = (await console.get("/ops/?p=3")).text
    assert last.count("<tr data-page-id=") == 6 and "Shop 45" in last
    found = (await console.get("/ops/?q=bakery")).text
    assert found.count("<tr data-page-id=") == 1 and "Bakery Manila" in found
    # Wildcards in a search are literal text.
    assert (await console.get("/ops/?q=%25")).text.count("<tr data-page-id=") == 0


async def test_sync_needs_the_csrf_token_and_starts_one_job_announced_on_the_broker(
    console, clean_db, amqp_url, topology
):
    await seed(clean_db, pages=3)
    csrf = await login(console)
    r = await console.post("/ops/pages/1001/sync", data={"mode": "full", "next": "/ops/"})
    assert r.status_code == 403
    r = await console.post(
        "/ops/pages/1001/sync", data={"mode": "full", "csrf": csrf}, headers={"Origin": "http://evil.example"}
    )
    assert r.status_code == 403
    assert await clean_db.fetchval("SELECT count(*) FROM jobs") == 0

    r = await console.post("/ops/pages/1001/sync", data={"mode": "full", "csrf": csrf, "next": "/ops/?p=1"})
    assert r.status_code == 303 and "Started+1+full+sync" in r.headers["location"]
    job = await clean_db.fetchrow("SELECT id, kind, status FROM jobs WHERE page_id = '1001'")
    assert (job["kind"], job["status"]) == ("FULL", "PENDING")
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        queue = await (await conn.channel()).get_queue(topology.queue("backfill"))
        message = await queue.get(no_ack=True)
    assert str(job["id"]) in message.body.decode()

    # A second click while it runs keeps the one active job.
    r = await console.post("/ops/pages/1001/sync", data={"mode": "full", "csrf": csrf})
    assert r.headers["location"].endswith("notice=1+page+already+had+a+job+running.")
    assert await clean_db.fetchval("SELECT count(*) FROM jobs") == 1


async def test_bulk_sync_starts_a_job_for_each_selected_page(console, clean_db):
    await seed(clean_db, pages=3)
    csrf = await login(console)
    r = await console.post(
        "/ops/sync",
        data={"csrf": csrf, "mode": "incremental", "page_id": ["1001", "1003", "nope"], "next": "/ops/"},
    )
    assert "Started+2+incremental+syncs" in r.headers["location"]
    kinds = await clean_db.fetch("SELECT page_id, kind FROM jobs ORDER BY page_id")
    assert [(k["page_id"], k["kind"]) for k in kinds] == [("1001", "INCREMENTAL"), ("1003", "INCREMENTAL")]


async def test_pages_without_a_usable_token_are_not_synced(console, clean_db):
    await seed(clean_db, pages=2)
    await clean_db.execute("UPDATE pages SET token_status = 'expired' WHERE id = '1002'")
    csrf = await login(console)
    r = await console.post(
        "/ops/sync", data={"csrf": csrf, "mode": "full", "page_id": ["1001", "1002", "2001"]}
    )
    assert r.headers["location"].endswith(
        "notice=Started+1+full+sync.+2+pages+need+a+valid+access+token+first+%28PATCH+%2Fapi"
        "%2Fpages%2F%7Bid%7D%29."
    )
    assert [r["page_id"] for r in await clean_db.fetch("SELECT page_id FROM jobs")] == ["1001"]


async def test_progress_json_and_cancel(console, clean_db):
    await seed(clean_db, pages=2)
    job_id = await clean_db.fetchval(
        """INSERT INTO jobs (page_id, kind, status, total_contacts, synced_contacts, failed_contacts,
                            started_at)
           VALUES ('1002', 'FULL', 'IN_PROGRESS', 40, 9, 1, now() - interval '5 seconds')
           RETURNING id"""
    )
    csrf = await login(console)
    r = await console.get("/ops/api/progress", params={"page": ["1001", "1002"]})
    [job] = r.json()["jobs"]
    assert {p["id"]: p["contacts"] for p in r.json()["pages"]} == {"1001": 0, "1002": 0}
    assert (job["id"], job["status"], job["done"], job["total"], job["percent"]) == (
        str(job_id),
        "IN_PROGRESS",
        10,
        40,
        25.0,
    )
    assert job["items_per_s"] > 0 and job["eta_s"] > 0
    page = (await console.get("/ops/")).text
    assert 'value="25.0"' in page and "10 / 40" in page

    r = await console.post(f"/ops/jobs/{job_id}/cancel", data={"csrf": csrf, "next": "/ops/"})
    assert r.status_code == 303 and "Job+cancelled" in r.headers["location"]
    r = await console.get("/ops/api/progress", params={"job": str(job_id)})
    assert r.json()["jobs"][0]["status"] == "CANCELLED"
    r = await console.post(f"/ops/jobs/{job_id}/cancel", data={"csrf": csrf})
    assert "already+ended" in r.headers["location"]


async def test_page_history_stage_board_and_contact_log(console, clean_db):
    await seed(clean_db, pages=1)
    pipeline = await clean_db.fetchval("INSERT INTO pipelines (name) VALUES ('Sales') RETURNING id")
    new, hot = [
        await clean_db.fetchval(
            "INSERT INTO stages (pipeline_id, name, type, position) VALUES ($1, $2, $3, $4) RETURNING id",
            pipeline,
            name,
            kind,
            pos,
        )
        for pos, (name, kind) in enumerate([("New", "LEAD"), ("Hot", "IN_PROGRESS")])
    ]
    contact = await clean_db.fetchval(
        """INSERT INTO contacts (page_id, platform, external_id, name, pipeline_id, stage_id,
                                 lead_score, lead_status, ai_summary, used_fallback)
           VALUES ('1001', 'messenger', 'psid_1', 'Sofía García', $1, $2, 82, 'QUALIFIED',
                   'Wants two units delivered to Monterrey <b>soon</b>', true) RETURNING id""",
        pipeline,
        hot,
    )
    await clean_db.execute(
        """INSERT INTO activities (contact_id, type, from_stage_id, to_stage_id, lead_score, details)
           VALUES ($1, 'STAGE_CHANGED', $2, $3, 82, '{"rule": "score_range"}')""",
        contact,
        new,
        hot,
    )
    await clean_db.execute(
        "INSERT INTO jobs (page_id, kind, status, errors) VALUES ('1001', 'FULL', 'COMPLETED', "
        """'[{"platform": "messenger", "id": "t_1", "error": "Graph error 100"}]')"""
    )
    await login(console)

    history = (await console.get("/ops/pages/1001")).text
    assert "Job history" in history and "completed" in history and "Graph error 100" in history
    assert (await console.get("/ops/pages/unknown")).status_code == 404

    board = (await console.get("/ops/stages")).text
    assert 'data-stage="New"' in board and 'data-stage="Hot"' in board
    assert "Sofía García" in board and "&lt;b&gt;soon&lt;/b&gt;" in board  # escaped, never HTML

    log = (await console.get(f"/ops/contacts/{contact}")).text
    assert "New" in log and "<strong>Hot</strong>" in log and "rule: score_range" in log
    assert (await console.get("/ops/contacts/not-a-uuid")).status_code == 404


async def test_logout_ends_the_session_even_for_a_replayed_cookie(console, clean_db):
    csrf = await login(console)
    cookie = console.cookies[session.COOKIE]
    r = await console.post("/ops/logout", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/ops/login"
    # The browser dropped the cookie; a copy of it, sent again, is refused all the same.
    console.cookies.clear()
    console.cookies.set(session.COOKIE, cookie, path="/ops")
    r = await console.get("/ops/")
    assert r.status_code == 303 and r.headers["location"].startswith("/ops/login")
    r = await console.post("/ops/sync", data={"csrf": csrf, "page_id": "1001"})
    assert r.status_code == 303 and r.headers["location"].startswith("/ops/login")
    assert await clean_db.fetchval("SELECT count(*) FROM console_sessions") == 0


async def test_ten_wrong_tokens_from_one_address_then_429_with_retry_after(console):
    for _ in range(10):
        r = await console.post("/ops/login", data={"token": "wrong-guess", "next": "/ops/"})
        assert r.status_code == 401
    r = await console.post("/ops/login", data={"token": TOKEN, "next": "/ops/"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "Too many failed sign-ins" in r.text and session.COOKIE not in r.headers.get("set-cookie", "")


def test_static_files_ship_with_the_package():
    from importlib import resources

    static = resources.files("services.webhook.ops") / "static"
    assert (static / "console.js").is_file() and (static / "console.css").is_file()


async def test_without_meta_app_id_the_console_says_how_to_connect_pages(console, clean_db):
    await login(console)
    listing = (await console.get("/ops/")).text
    assert "set <code>META_APP_ID</code>" in listing and 'href="/ops/connect"' not in listing
    r = await console.get("/ops/connect")
    assert r.status_code == 503 and "META_APP_ID" in r.text and "docs/operations.md" in r.text


async def test_one_page_is_disconnected_from_its_screen_after_a_confirmation(console, clean_db):
    await seed(clean_db, pages=2)
    await clean_db.execute(
        "INSERT INTO contacts (page_id, platform, external_id) VALUES ('1001', 'messenger', 'c1'), "
        "('1001', 'messenger', 'c2')"
    )
    csrf = await login(console)
    detail = (await console.get("/ops/pages/1001")).text
    assert 'action="/ops/pages/1001/disconnect"' in detail
    r = await console.post("/ops/pages/1001/disconnect", data={"csrf": csrf})
    assert r.status_code == 200 and "Disconnect 1 page?" in r.text and "2 contacts" in r.text
    assert await clean_db.fetchval("SELECT health_status FROM pages WHERE id = '1001'") == "ok"
    r = await console.post(
        "/ops/disconnect", data={"csrf": csrf, "page_id": "1001", "confirm": "1", "forget": "1"}
    )
    assert r.status_code == 303 and "Disconnected+1+page" in r.headers["location"]
    row = await clean_db.fetchrow("SELECT * FROM pages WHERE id = '1001'")
    assert row["health_status"] == "disconnected" and row["access_token_enc"] is None
    assert not row["auto_sync"]
    assert await clean_db.fetchval("SELECT count(*) FROM contacts") == 0
    assert await clean_db.fetchval("SELECT health_status FROM pages WHERE id = '1002'") == "ok"
    assert 'action="/ops/pages/1001/disconnect"' not in (await console.get("/ops/pages/1001")).text


async def test_an_unhealthy_page_shows_why_and_a_reconnect_button(console, clean_db):
    await seed(clean_db, pages=2)
    await clean_db.execute(
        "UPDATE pages SET health_status = 'token_expired', token_status = 'expired', "
        "health_detail = '{\"reason\": \"the page''s access token expired: reconnect the page\"}' "
        "WHERE id = '1001'"
    )
    await login(console)
    listing = (await console.get("/ops/")).text
    broken = listing[listing.index('data-page-id="1001"') : listing.index('data-page-id="1002"')]
    assert "token expired" in broken and "access token expired: reconnect" in broken
    assert '<a class="button reconnect" href="/ops/connect">Reconnect</a>' in broken
    healthy = listing[listing.index('data-page-id="1002"') :]
    assert "Reconnect" not in healthy.split("</tr>")[0]
