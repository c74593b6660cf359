"""Connecting pages end to end: `leadsync run` against the simulated Meta (login, tokens,
subscriptions, debug_token), every Graph call signed with appsecret_proof."""

from __future__ import annotations

import asyncio
import re
import sys

import httpx
import pytest

from leadsync.sim.meta_app import signed_request
from shared.crypto import TokenCipher
from shared.meta_app import APP_FIELDS, PAGE_FIELDS
from tests.support import secrets as test_secrets
from tests.support.backfill import wait_job
from tests.support.connect import PAGES, USER, connected_stack
from tests.support.eventually import eventually
from tests.support.metrics import service_samples


async def test_discover_then_connect_subscribes_both_levels_and_starts_each_backfill(clean_db, service_env):
    async with connected_stack(service_env) as (sim, stack, client):
        user_token = sim.meta.user_token(USER)
        r = await client.post("/api/connect/discover", json={"user_access_token": user_token})
        assert r.status_code == 200, r.text
        found = r.json()
        assert found["user"] == {"id": USER, "name": "Sofía Owner"}
        assert [(p["id"], p["connected"]) for p in found["pages"]] == [
            ("201", False),
            ("202", False),
            ("203", False),
        ]
        assert found["pages"][1]["instagram_account_id"] == "17841400000000202"

        r = await client.post(
            "/api/connect", json={"user_access_token": user_token, "page_ids": ["201", "202"]}
        )
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["connected"] == ["201", "202"] and result["failed"] == []
        # The page level: our app with the messaging fields on each connected page, not the third.
        assert {p: set(f) for p, f in sim.meta.page_subscriptions.items()} == {
            "201": set(PAGE_FIELDS),
            "202": set(PAGE_FIELDS),
        }
        # The app level, after Meta's handshake against the running webhook.
        assert sim.meta.handshakes == len(APP_FIELDS)
        for obj, fields in APP_FIELDS.items():
            held = sim.meta.app_subscriptions[obj]
            assert held["callback_url"] == f"{stack.url}/webhooks/meta"
            assert {f["name"] for f in held["fields"]} == set(fields)
        assert result["app_subscription"]["complete"] is True

        rows = {r["id"]: r for r in await clean_db.fetch("SELECT * FROM pages ORDER BY id")}
        assert set(rows) == {"201", "202"}
        assert rows["202"]["name"] == "Ola Surf"
        assert rows["202"]["instagram_account_id"] == "17841400000000202"
        assert rows["201"]["connected_by"] == {"id": USER, "name": "Sofía Owner"}
        cipher = TokenCipher(service_env["TOKEN_ENCRYPTION_KEY"])
        assert cipher.decrypt(rows["201"]["access_token_enc"]) == sim.pages["201"].token
        assert all(r["health_status"] == "ok" for r in rows.values())
        for page_id, job_id in result["jobs"].items():
            job = await wait_job(clean_db, job_id)
            assert job["kind"] == "FULL" and job["synced_contacts"] == PAGES[page_id][1] + (
                2 if PAGES[page_id][2] else 0
            )
        health = (await client.get("/api/pages/201/health")).json()
        assert health["status"] == "ok" and health["token"]["missing_scopes"] == []
        assert health["subscription"]["missing_fields"] == []
        r = await client.get("/api/meta/subscription")
        assert r.status_code == 200 and r.json()["complete"] is True
        again = (await client.post("/api/connect/discover", json={"user_access_token": user_token})).json()
        assert [p["connected"] for p in again["pages"]] == [True, True, False]
        assert sim.meta.proof_refusals == 0


async def test_a_dropped_subscription_is_restored_by_the_health_check(clean_db, service_env):
    async with connected_stack(service_env) as (sim, _, client):
        await _connect_without_backfill(sim, client, "201")
        sim.meta.drop_subscription("201")  # an hour of failed deliveries, and Meta let go
        r = await client.post("/api/pages/201/health")
        assert r.status_code == 200, r.text
        health = r.json()
        assert health["resubscribed"] is True and health["status"] == "ok"
        assert set(sim.meta.page_subscriptions["201"]) == set(PAGE_FIELDS)


async def test_an_expired_token_needs_a_reconnect_and_the_next_sync_works_after_it(clean_db, service_env):
    async with connected_stack(service_env) as (sim, _, client):
        user_token = sim.meta.user_token(USER)
        await _connect_without_backfill(sim, client, "201", token=user_token)
        sim.meta.revoke_page_token("201")
        health = (await client.post("/api/pages/201/health")).json()
        assert health["status"] == "token_expired" and health["token"]["valid"] is False
        assert "reconnect" in health["reason"]
        page = (await client.get("/api/pages/201")).json()
        assert page["health_status"] == "token_expired" and page["token_status"] == "expired"

        # A job on the page fails at once, before it walks any conversation.
        before = sim.calls["conversations"]
        job_id = await _job(clean_db, client, "201")
        job = await wait_job(clean_db, job_id, ("FAILED",), timeout=30)
        assert job["token_expired"] is True and "reconnect" in job["error"]
        assert sim.calls["conversations"] == before

        sim.meta.renew_page_token("201")
        r = await client.post("/api/connect", json={"user_access_token": user_token, "page_ids": ["201"]})
        assert r.json()["connected"] == ["201"], r.text
        assert (await client.get("/api/pages/201/health")).json()["status"] == "ok"
        job = await wait_job(clean_db, r.json()["jobs"]["201"], timeout=30)
        assert job["synced_contacts"] == PAGES["201"][1]


async def _job(pool, client, page_id: str) -> str:
    # The page's token is marked expired, so /api/backfill refuses: a scheduler or an operator
    # with a stale view can still have queued one, which is what the worker must stop at once.
    r = await client.post("/api/backfill", json={"page_id": page_id, "mode": "full"})
    assert r.status_code == 409
    await pool.execute("UPDATE pages SET token_status = 'ok' WHERE id = $1", page_id)
    r = await client.post("/api/backfill", json={"page_id": page_id, "mode": "full"})
    assert r.status_code == 202, r.text
    return str(r.json()["job_id"])


@pytest.mark.parametrize("forget", [False, True])
async def test_disconnect_unsubscribes_and_drops_the_token_and_forget_deletes_the_data(
    clean_db, service_env, forget
):
    async with connected_stack(service_env) as (sim, _, client):
        r = await client.post(
            "/api/connect", json={"user_access_token": sim.meta.user_token(USER), "page_ids": ["201", "203"]}
        )
        for job_id in r.json()["jobs"].values():
            await wait_job(clean_db, job_id)
        await _settled(clean_db, "201", PAGES["201"][1])
        await _settled(clean_db, "203", PAGES["203"][1])
        r = await client.post("/api/pages/201/disconnect", json={"forget": forget})
        assert r.status_code == 200, r.text
        assert r.json()["unsubscribed"] is True
        assert r.json()["contacts_deleted"] == (PAGES["201"][1] if forget else 0)
        assert "201" not in sim.meta.page_subscriptions and "203" in sim.meta.page_subscriptions
        page = (await client.get("/api/pages/201")).json()
        assert page["has_token"] is False and page["auto_sync"] is False
        assert page["health_status"] == "disconnected"
        counts = {
            t: await clean_db.fetchval(f"SELECT count(*) FROM {t} WHERE page_id = '201'")
            for t in ("contacts", "messages")
        }
        if forget:
            assert counts == {"contacts": 0, "messages": 0}
            assert (
                await clean_db.fetchval(
                    "SELECT count(*) FROM job_items i JOIN jobs j ON j.id = i.job_id WHERE j.page_id = '201'"
                )
                == 0
            )
        else:
            assert counts["contacts"] == PAGES["201"][1] and counts["messages"] > 0
        # The other page keeps everything.
        assert await clean_db.fetchval("SELECT count(*) FROM contacts WHERE page_id = '203'") == 2
        assert (await client.post("/api/pages/404/disconnect", json={})).status_code == 404


async def _settled(pool, page_id: str, contacts: int, timeout: float = 30) -> None:
    """Contacts are written by the assigner after the job's items settle: wait for them."""

    async def placed() -> bool:
        return bool(
            await pool.fetchval("SELECT count(*) FROM contacts WHERE page_id = $1", page_id) >= contacts
        )

    await eventually(placed, what=f"{contacts} contacts of page {page_id}", timeout=timeout)


async def test_a_user_token_meta_refuses_is_a_clear_400_and_nothing_is_stored(clean_db, service_env):
    async with connected_stack(service_env) as (_, _, client):
        r = await client.post(
            "/api/connect", json={"user_access_token": "EAAUnot-a-token-at-all", "page_ids": ["201"]}
        )
        assert r.status_code == 400 and "sign in again" in r.json()["error"]
        assert await clean_db.fetchval("SELECT count(*) FROM pages") == 0


async def _connect_without_backfill(
    sim, client: httpx.AsyncClient, *page_ids: str, token: str | None = None
) -> None:
    """Connects `page_ids` for USER (with `token`, else a fresh user token), no backfill."""
    r = await client.post(
        "/api/connect",
        json={
            "user_access_token": token or sim.meta.user_token(USER),
            "page_ids": list(page_ids),
            "backfill": False,
        },
    )
    assert r.json()["connected"] == list(page_ids), r.text


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "leadsync",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_the_cli_sets_the_app_subscription_checks_health_and_disconnects(clean_db, service_env):
    async with connected_stack(service_env) as (sim, stack, client):
        env = {
            **service_env,
            "GRAPH_API_BASE_URL": sim.base_url,
            "META_APP_ID": sim.meta.app_id,
            "PUBLIC_URL": stack.url,
            "COLUMNS": "200",
        }
        code, out = await _cli(env, "meta", "subscribe")
        assert code == 0, out
        assert sim.meta.handshakes == len(APP_FIELDS) and "changed: page, instagram" in out
        assert sim.meta.app_subscriptions["page"]["callback_url"] == f"{stack.url}/webhooks/meta"
        # The handshake is real: a wrong verify token makes Meta (and the command) refuse.
        code, out = await _cli({**env, "META_VERIFY_TOKEN": "not-the-webhooks-token"}, "meta", "subscribe")
        assert code == 0 and "changed: nothing" in out  # already complete: nothing to verify
        sim.meta.app_subscriptions.clear()
        code, out = await _cli({**env, "META_VERIFY_TOKEN": "not-the-webhooks-token"}, "meta", "subscribe")
        assert (
            code == 1 and "Callback verification failed" in out and "page" not in sim.meta.app_subscriptions
        )

        await _connect_without_backfill(sim, client, "201")
        sim.meta.drop_subscription("201")
        code, out = await _cli(env, "pages", "health", "201")
        assert code == 0 and "True" in out, out  # resubscribed
        assert "201" in sim.meta.page_subscriptions
        code, out = await _cli(env, "pages", "disconnect", "201", "--forget")
        assert code == 0 and "unsubscribed from Meta" in out, out
        assert "201" not in sim.meta.page_subscriptions
        assert (await client.get("/api/pages/201")).json()["health_status"] == "disconnected"


async def _backfill_gauge(logs: str) -> dict[str, float]:
    _, samples = await service_samples(logs, "backfill")
    return {s.labels["reason"]: s.value for s in samples if s.name == "leadsync_pages_unhealthy"}


async def test_the_backfill_service_checks_every_page_on_its_own_and_exports_the_gauge(clean_db, service_env):
    async with connected_stack(
        service_env, BACKFILL_HEALTH_INTERVAL_S="1", BACKFILL_SCHEDULER_INTERVAL_S="0.3"
    ) as (sim, stack, client):
        await _connect_without_backfill(sim, client, "201", "202")
        sim.meta.drop_subscription("201")
        sim.meta.revoke_page_token("202")

        async def checked() -> tuple[dict[str, str], dict[str, float]] | None:
            statuses = dict(await clean_db.fetch("SELECT id, health_status FROM pages"))
            gauge = await _backfill_gauge(stack.logs())
            seen = "201" in sim.meta.page_subscriptions and statuses.get("202") == "token_expired"
            return (statuses, gauge) if seen and gauge.get("token_expired") == 1 else None

        found = await eventually(checked, what="both pages checked", timeout=20, interval=0.2)
        assert found is not None
        statuses, gauge = found
        assert statuses["201"] == "ok" and gauge.get("unsubscribed") == 0
        page = (await client.get("/api/pages/202/health")).json()
        assert page["status"] == "token_expired"


async def test_deauthorize_and_data_deletion_act_on_a_valid_signed_request_only(clean_db, service_env):
    async with connected_stack(service_env) as (sim, stack, client):
        sim.meta.users[USER].page_ids = ["201", "202"]
        sim.meta.add_user("10150000000000099", "Someone Else", ["203"])
        for user, pages in ((USER, ["201", "202"]), ("10150000000000099", ["203"])):
            r = await client.post(
                "/api/connect", json={"user_access_token": sim.meta.user_token(user), "page_ids": pages}
            )
            assert r.json()["connected"] == pages, r.text
            for job_id in r.json()["jobs"].values():
                await wait_job(clean_db, job_id)
        await _settled(clean_db, "202", PAGES["202"][1] + 2)
        await _settled(clean_db, "203", PAGES["203"][1])
        payload = {"algorithm": "HMAC-SHA256", "issued_at": 1767225600, "user_id": USER}
        async with httpx.AsyncClient(base_url=stack.url) as meta:
            forged = [
                signed_request(payload, "not-the-app-secret-0123456789"),
                signed_request(payload, test_secrets.APP_SECRET).split(".")[0] + ".e30",
                "",
                "no-dot-at-all",
                signed_request({**payload, "algorithm": "none"}, test_secrets.APP_SECRET),
            ]
            for path in ("/meta/deauthorize", "/meta/data-deletion"):
                for bad in forged:
                    r = await meta.post(path, data={"signed_request": bad})
                    assert r.status_code == 400, (path, bad, r.text)
            tokens = await clean_db.fetchval("SELECT count(*) FROM pages WHERE access_token_enc IS NOT NULL")
            assert tokens == 3 and await clean_db.fetchval("SELECT count(*) FROM data_deletions") == 0

            r = await meta.post(
                "/meta/deauthorize", data={"signed_request": signed_request(payload, test_secrets.APP_SECRET)}
            )
            assert r.status_code == 200 and r.json()["disconnected"] == ["201", "202"]
            statuses = dict(await clean_db.fetch("SELECT id, health_status FROM pages"))
            assert statuses == {"201": "disconnected", "202": "disconnected", "203": "ok"}
            assert set(sim.meta.page_subscriptions) == {"203"}
            assert await clean_db.fetchval("SELECT count(*) FROM contacts WHERE page_id = '202'") > 0

            r = await meta.post(
                "/meta/data-deletion",
                data={"signed_request": signed_request(payload, test_secrets.APP_SECRET)},
            )
            assert r.status_code == 200, r.text
            answer = r.json()
            assert answer["url"] == f"{stack.url}/meta/data-deletion/{answer['confirmation_code']}"
            assert (
                await clean_db.fetchval("SELECT count(*) FROM contacts WHERE page_id IN ('201', '202')") == 0
            )
            assert await clean_db.fetchval("SELECT count(*) FROM contacts WHERE page_id = '203'") == 2
            status = await meta.get(answer["url"])
            assert status.status_code == 200 and "completed" in status.text
            assert (await meta.get("/meta/data-deletion/0000")).status_code == 404


async def _console(stack, service_env) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=stack.url, timeout=10)
    r = await client.post("/ops/login", data={"token": service_env["ADMIN_TOKEN"], "next": "/ops/"})
    assert r.status_code == 303, r.text
    return client


async def _dialog(console: httpx.AsyncClient, answer: str) -> str:
    """Connect pages → Meta's dialog → the answer → back through the callback: finish's URL."""
    r = await console.get("/ops/connect")
    assert r.status_code == 303
    dialog = httpx.URL(r.headers["location"])
    assert dialog.params["redirect_uri"] == f"{console.base_url}/ops/connect/callback"
    assert "pages_messaging" in dialog.params["scope"]
    async with httpx.AsyncClient() as facebook:
        page = await facebook.get(str(dialog))
        assert page.status_code == 200 and "Allow" in page.text
        back = await facebook.post(
            str(dialog.copy_with(path=dialog.path + "/answer", query=None)),
            data={
                "answer": answer,
                "state": dialog.params["state"],
                "redirect_uri": dialog.params["redirect_uri"],
            },
        )
    assert back.status_code == 302
    callback = httpx.URL(back.headers["location"])
    # The public callback only bounces to our own origin, where the Strict cookie goes along.
    bounce = await console.get(callback.path, params=callback.params)
    assert bounce.status_code == 200 and "/ops/connect/finish?" in bounce.text
    return "/ops/connect/finish?" + str(callback.params)


async def test_the_console_turns_meta_refusals_into_clear_messages_and_stores_nothing(clean_db, service_env):
    async with connected_stack(service_env) as (sim, stack, _):
        console = await _console(stack, service_env)
        other = await _console(stack, service_env)
        try:
            declined = await _dialog(console, "cancel")
            r = await console.get(declined)
            assert r.status_code == 400 and "You cancelled the Facebook dialog" in r.text

            allowed = await _dialog(console, "allow")
            r = await console.get(allowed)
            assert r.status_code == 200 and "Connect selected pages" in r.text
            assert "Casa Sofía" in r.text and "EAAP" not in r.text  # no token in the page
            again = await console.get(allowed)  # the state is single-use
            assert again.status_code == 400 and "no longer valid" in again.text

            # The same code with a fresh state: Meta says it was used.
            code = httpx.URL(allowed).params["code"]
            fresh = httpx.URL((await console.get("/ops/connect")).headers["location"]).params["state"]
            r = await console.get("/ops/connect/finish", params={"code": code, "state": fresh})
            assert r.status_code == 400 and "login code" in r.text

            # A state started in another console session is refused there.
            theirs = httpx.URL((await other.get("/ops/connect")).headers["location"]).params["state"]
            r = await console.get("/ops/connect/finish", params={"code": "x", "state": theirs})
            assert r.status_code == 400 and "another console session" in r.text

            # Permissions declined in the dialog: said, and nothing connected.
            sim.meta.users[USER].scopes.remove("pages_messaging")
            r = await console.get(await _dialog(console, "allow"))
            assert r.status_code == 400 and "did not grant pages_messaging" in r.text
            sim.meta.users[USER].scopes.append("pages_messaging")

            # The picker's sealed token is bound to its session too.
            picked = re.search(
                r'name="sealed" value="([^"]+)"', (await other.get(await _dialog(other, "allow"))).text
            )
            csrf = re.search(r'name="csrf" value="([^"]+)"', (await console.get("/ops/")).text)
            assert picked is not None and csrf is not None
            r = await console.post(
                "/ops/connect",
                data={"csrf": csrf.group(1), "sealed": picked.group(1), "page_id": "201", "backfill": "1"},
            )
            assert r.status_code == 400 and "expired" in r.text
            assert await clean_db.fetchval("SELECT count(*) FROM pages") == 0
            assert sim.meta.page_subscriptions == {}
        finally:
            await console.aclose()
            await other.aclose()


async def test_reconnect_from_the_console_ticks_the_broken_page_and_restores_it(clean_db, service_env):
    async with connected_stack(service_env) as (sim, stack, client):
        await _connect_without_backfill(sim, client, "201", "202")
        sim.meta.revoke_page_token("201")
        assert (await client.post("/api/pages/201/health")).json()["status"] == "token_expired"
        sim.meta.renew_page_token("201")
        console = await _console(stack, service_env)
        try:
            picker = (await console.get(await _dialog(console, "allow"))).text
            boxes = dict(re.findall(r'value="(20\d)"\s+(checked)?', picker))
            assert boxes == {"201": "checked", "202": "", "203": "checked"}, boxes
            assert "needs reconnecting" in picker
            fields = dict(re.findall(r'name="(sealed|csrf)" value="([^"]+)"', picker))
            r = await console.post("/ops/connect", data={**fields, "page_id": ["201"]})
            assert r.status_code == 303 and "Connected+1+page" in r.headers["location"]
        finally:
            await console.aclose()
        health = (await client.get("/api/pages/201/health")).json()
        assert health["status"] == "ok"
        token = await clean_db.fetchval("SELECT access_token_enc FROM pages WHERE id = '201'")
        assert TokenCipher(service_env["TOKEN_ENCRYPTION_KEY"]).decrypt(token) == sim.pages["201"].token
