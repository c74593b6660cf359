"""Admin API pages: encrypted tokens never returned, validation naming fields, auth on every route."""

from __future__ import annotations

import pytest

from shared.crypto import TokenCipher
from tests.support.admin_api import admin_client

TOKEN = "EAAtestPAGEtoken0123456789abcdefXYZ"


@pytest.fixture
async def api(clean_db, service_env, publisher):
    async with admin_client(service_env, clean_db, publisher) as client:
        yield client


def page_body(**extra):
    return {"id": "1001", "name": "Shop", "access_token": TOKEN, **extra}


async def test_create_stores_the_token_encrypted_and_never_returns_it(api, clean_db, service_env):
    r = await api.post("/api/pages", json=page_body(instagram_account_id="1784"))
    assert r.status_code == 201
    page = r.json()
    assert (page["id"], page["name"], page["has_token"], page["token_status"]) == ("1001", "Shop", True, "ok")
    assert (page["auto_pipeline_mode"], page["auto_sync"], page["sync_interval_s"]) == (
        "SKIP_EXISTING",
        True,
        3600,
    )
    stored = await clean_db.fetchval("SELECT access_token_enc FROM pages WHERE id = '1001'")
    assert TOKEN.encode() not in bytes(stored)
    assert TokenCipher(service_env["TOKEN_ENCRYPTION_KEY"]).decrypt(stored) == TOKEN
    listed = await api.get("/api/pages")
    one = await api.get("/api/pages/1001")
    assert listed.json()["items"] == [one.json()]
    for response in (r, listed, one):
        assert TOKEN not in response.text and "access_token" not in response.text


async def test_patch_changes_settings_and_a_new_token_clears_expiry(api, clean_db):
    await api.post("/api/pages", json=page_body())
    pipeline = (await api.post("/api/pipelines", json={"name": "P", "stages": []})).json()
    await clean_db.execute("UPDATE pages SET token_status = 'expired'")
    r = await api.patch(
        "/api/pages/1001",
        json={
            "auto_pipeline_id": pipeline["id"],
            "auto_pipeline_mode": "UPDATE_EXISTING",
            "auto_sync": False,
            "sync_interval_s": 600,
            "name": "Shop 2",
        },
    )
    assert r.status_code == 200
    page = r.json()
    assert (
        page["auto_pipeline_id"],
        page["auto_pipeline_mode"],
        page["auto_sync"],
        page["sync_interval_s"],
        page["name"],
        page["token_status"],
    ) == (pipeline["id"], "UPDATE_EXISTING", False, 600, "Shop 2", "expired")
    r = await api.patch(
        "/api/pages/1001", json={"access_token": "EAAnewTOKEN99999999999999999", "auto_pipeline_id": None}
    )
    assert (r.json()["token_status"], r.json()["auto_pipeline_id"]) == ("ok", None)
    assert "EAAnewTOKEN" not in r.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": "1", "access_token": TOKEN}, "name"),
        ({"id": "1", "name": "x"}, "access_token"),
        (page_body(access_token="   "), "access_token"),
        (page_body(sync_interval_s=10), "sync_interval_s"),
        (page_body(auto_pipeline_mode="SOMETIMES"), "auto_pipeline_mode"),
        (page_body(auto_pipeline_id="not-a-uuid"), "auto_pipeline_id"),
        (page_body(colour="blue"), "colour"),
    ],
)
async def test_invalid_page_is_422_naming_the_field(api, body, field):
    r = await api.post("/api/pages", json=body)
    assert r.status_code == 422
    assert r.json()["field"] == field and r.json()["error"].startswith(field)
    assert TOKEN not in r.text


async def test_an_auto_pipeline_that_does_not_exist_is_404_naming_the_field(api):
    r = await api.post("/api/pages", json=page_body(auto_pipeline_id="6c4d0c3e-8d8e-4a51-9d57-000000000000"))
    assert (r.status_code, r.json()["field"]) == (404, "auto_pipeline_id")


async def test_conflicts_and_unknown_pages(api):
    assert (await api.post("/api/pages", json=page_body(instagram_account_id="17"))).status_code == 201
    assert (await api.post("/api/pages", json=page_body())).status_code == 409
    again = await api.post("/api/pages", json=page_body(id="1002", instagram_account_id="17"))
    assert (again.status_code, again.json()["field"]) == (409, "instagram_account_id")
    assert (await api.get("/api/pages/nope")).status_code == 404
    assert (await api.patch("/api/pages/nope", json={"name": "x"})).status_code == 404
    r = await api.patch("/api/pages/1001", json={"name": None})
    assert (r.status_code, r.json()["field"]) == (422, "name")
    assert (await api.post("/api/pages", content=b"{nope")).status_code == 400


async def test_without_an_encryption_key_storing_a_token_says_what_to_set(clean_db, service_env, publisher):
    async with admin_client(service_env, clean_db, publisher, token_encryption_key=None) as api:
        r = await api.post("/api/pages", json=page_body())
        assert r.status_code == 503
        assert "TOKEN_ENCRYPTION_KEY" in r.json()["error"] and TOKEN not in r.text
        assert await clean_db.fetchval("SELECT count(*) FROM pages") == 0


async def test_openapi_describes_the_admin_routes(api):
    r = await api.get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    assert {
        "/api/pages",
        "/api/pages/{page_id}",
        "/api/pipelines/{pipeline_id}/score-ranges",
        "/api/contacts",
        "/api/contacts/{contact_id}",
    } <= set(doc["paths"])
    create = doc["components"]["schemas"]["PageCreate"]
    assert set(create["required"]) == {"id", "name", "access_token"}
