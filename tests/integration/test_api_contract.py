"""The app's router is the source of truth: every route needs auth but the public few, every /api
route is in the OpenAPI document (and nothing else is), and every request field is bounded."""

from __future__ import annotations

import uuid

import httpx
import pytest
from starlette.routing import Mount, Route

from services.webhook import deliveries
from services.webhook.app import create_app
from services.webhook.ops import session
from shared import db
from tests.support.admin_api import admin_client, settings_for
from tests.support.stack import free_port

# Reachable without the admin token or a console session (each has its own guard or none).
PUBLIC = {
    ("GET", deliveries.PATH),  # the handshake: META_VERIFY_TOKEN
    ("POST", deliveries.PATH),  # deliveries: X-Hub-Signature-256 (bare ASGI, not in the router)
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/ops/login"),
    ("POST", "/ops/login"),
    ("GET", "/ops/static/{path}"),
    ("GET", "/ops/connect/callback"),  # bounces to /ops/connect/finish, which needs the session
    ("POST", "/meta/deauthorize"),  # Meta's callbacks: signed_request (bad → 400)
    ("POST", "/meta/data-deletion"),
    ("GET", "/meta/data-deletion/{code}"),  # the status page a person opens from Meta
}


def router_routes(routes, prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for route in routes:
        if isinstance(route, Mount):
            if route.routes:
                found += router_routes(route.routes, prefix + route.path)
            else:  # a mounted app (static files)
                found.append(("GET", prefix + route.path + "/{path}"))
        elif isinstance(route, Route):
            found += [(m, prefix + route.path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return found


@pytest.fixture
async def app_and_client(clean_db, service_env, publisher):
    # Many failures from one address on purpose: the throttle is tested elsewhere.
    async with admin_client(service_env, clean_db, publisher, auth_failures_per_minute=10_000) as client:
        yield client._transport.app, client  # type: ignore[attr-defined]


def concrete(path: str) -> str:
    return path.format(
        page_id="1001",
        pipeline_id=uuid.uuid4(),
        contact_id=uuid.uuid4(),
        job_id=uuid.uuid4(),
        path="console.css",
    )


async def test_every_route_but_the_public_ones_refuses_a_missing_and_a_wrong_credential(
    app_and_client,
):
    app, client = app_and_client
    routes = [r for r in router_routes(app.routes) if r not in PUBLIC]
    assert {("POST", "/api/pages"), ("POST", "/api/jobs/{job_id}/cancel"), ("GET", "/ops/")} <= set(routes)
    client.headers.pop("Authorization")
    for method, path in routes:
        url = concrete(path)
        if path.startswith("/api/"):
            for auth in (None, "Bearer wrong-token", "Basic dGVzdA==", "Bearer ", "bearer"):
                headers = {"Authorization": auth} if auth else {}
                r = await client.request(method, url, headers=headers, json={})
                assert r.status_code == 401, (method, path, auth)
                assert r.json()["error"].startswith("missing or wrong admin token")
        else:
            for cookie in (None, "forged-session-id", "9999999999.deadbeef"):
                client.cookies.clear()
                if cookie:
                    client.cookies.set(session.COOKIE, cookie)
                r = await client.request(method, url, data={"csrf": "x"})
                refused = (
                    r.status_code == 401
                    if path.startswith("/ops/api/")
                    else (r.status_code == 303 and r.headers["location"].startswith("/ops/login"))
                )
                assert refused, (method, path, cookie, r.status_code)


async def test_the_openapi_document_lists_exactly_the_api_routes(app_and_client):
    app, client = app_and_client
    doc = (await client.get("/api/openapi.json")).json()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    routed = {r for r in router_routes(app.routes) if r[1].startswith("/api/")}
    assert documented == routed
    assert {
        ("POST", "/api/backfill"),
        ("GET", "/api/jobs/{job_id}"),
        ("GET", "/api/jobs/{job_id}/items"),
        ("POST", "/api/jobs/{job_id}/retry"),
        ("GET", "/api/pages/{page_id}/jobs"),
    } <= documented
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert "401" in op["responses"] and "429" in op["responses"], (method, path)
            assert any(code.startswith("2") for code in op["responses"]), (method, path)


def leaf_schemas(schema, where: str, components, kind: str):
    """Every schema of type `kind` reachable from `schema` (following $refs), with where it is."""
    if "$ref" in schema:
        yield from leaf_schemas(components[schema["$ref"].rsplit("/", 1)[1]], where, components, kind)
        return
    for key in ("anyOf", "allOf", "oneOf"):
        for i, sub in enumerate(schema.get(key, [])):
            yield from leaf_schemas(sub, f"{where}[{i}]", components, kind)
    if schema.get("type") == kind:
        yield where, schema
    for name, sub in schema.get("properties", {}).items():
        yield from leaf_schemas(sub, f"{where}.{name}", components, kind)
    if isinstance(schema.get("items"), dict):
        yield from leaf_schemas(schema["items"], f"{where}[]", components, kind)


async def test_every_request_string_is_bounded_and_refuses_control_characters(app_and_client):
    _, client = app_and_client
    doc = (await client.get("/api/openapi.json")).json()
    components = doc["components"]["schemas"]
    checked = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            inputs = [(f"{method} {path} {p['name']}", p["schema"]) for p in op.get("parameters", [])]
            if "requestBody" in op:
                inputs.append(
                    (f"{method} {path} body", op["requestBody"]["content"]["application/json"]["schema"])
                )
            for where, schema in inputs:
                for field, s in leaf_schemas(schema, where, components, "string"):
                    checked += 1
                    if "enum" in s or s.get("format") in ("uuid", "date-time"):
                        continue
                    assert "maxLength" in s and "pattern" in s, field
                    assert "\\x00" in s["pattern"] or s["pattern"] == "^[A-Za-z0-9_.:-]+$", field
                for field, s in leaf_schemas(schema, where, components, "integer"):
                    checked += 1
                    # Bounds as JSON Schema words (pydantic writes "ge" when it cannot place them).
                    assert "minimum" in s and "maximum" in s and "ge" not in s and "le" not in s, field
    assert checked > 10


async def test_an_undeclared_method_is_405_listing_every_method_of_the_path(app_and_client):
    _, client = app_and_client
    for method in ("TRACE", "PUT", "DELETE"):
        r = await client.request(method, "/api/pages")
        assert r.status_code == 405, method
        assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}
        assert r.json()["error"]


async def test_an_unhandled_error_is_a_logged_json_500_with_a_request_id(service_env, publisher):
    """The catch-all: the admin API has no handler for a database that is not there."""
    closed = free_port()
    pool = await db.create_pool(f"postgresql://postgres@127.0.0.1:{closed}/none", min_size=0)
    app = create_app(settings_for(service_env), publisher=publisher, pool=pool)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://t",
            headers={"Authorization": f"Bearer {service_env['ADMIN_TOKEN']}"},
        ) as client,
    ):
        r = await client.get("/api/pages")
    assert r.status_code == 500
    assert r.json()["error"] == "internal error" and r.json()["request_id"] == r.headers["x-request-id"]
    assert set(r.json()) == {"error", "request_id"}
    await pool.close()
