"""The webhook service as started in production, fed what an attacker or a careless client sends:
bad input gets a 4xx (JSON under /api, HTML under /ops) on a connection that stays open, bodies are
capped while they are read (the process does not grow), and signatures are compared in full."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator

import httpx
import pytest

from services.webhook.signature import sign
from tests.support.stack import free_port

MiB = 1024 * 1024
KiB = 1024


@contextlib.asynccontextmanager
async def webhook(env: dict[str, str]) -> AsyncIterator[tuple[str, int]]:
    """`python -m services.webhook` alone; yields its URL and pid."""
    port = free_port()
    full = {
        **env,
        "PORT": str(port),
        "METRICS_PORT": "0",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "AUTH_FAILURES_PER_MINUTE": "100000",
    }
    with tempfile.TemporaryFile() as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.webhook", env=full, stdout=log, stderr=log
        )
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient() as client:
                for _ in range(200):
                    try:
                        if (await client.get(f"{url}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.05)
            yield url, proc.pid
        finally:
            proc.terminate()
            await proc.wait()


@pytest.fixture(scope="module")
async def server(service_env):
    async with webhook(service_env) as found:
        yield found


@pytest.fixture
async def api(server, clean_db, service_env):
    url, _ = server
    async with httpx.AsyncClient(
        base_url=url, timeout=30, headers={"Authorization": f"Bearer {service_env['ADMIN_TOKEN']}"}
    ) as client:
        yield client


async def login(client: httpx.AsyncClient, token: str) -> None:
    r = await client.post("/ops/login", data={"token": token, "next": "/ops/"})
    assert r.status_code == 303


NUL_PAGE = {"id": "p\u0000x", "name": "Shop", "access_token": "EAAtoken0123456789abcdef"}
# Each was a 500 (text/plain, connection dropped) before the input boundary.
API_REQUESTS = [
    ("POST", "/api/pages", NUL_PAGE),
    ("POST", "/api/pages", {**NUL_PAGE, "id": "p1", "name": "Sh\u0000op"}),
    ("POST", "/api/pages", {**NUL_PAGE, "id": "p1", "access_token": "EAA\u0000tok"}),
    ("POST", "/api/pages", {**NUL_PAGE, "id": "p1", "access_token": "x" * 100_000}),  # > 4 KiB
    ("POST", "/api/pages", '{"id": "p2", "name": "\\ud800", "access_token": "EAAtok"}'),
    ("GET", "/api/pages/%00", None),
    ("PATCH", "/api/pages/p1", {"name": "a\u0000"}),
    ("POST", "/api/backfill", {"page_id": "\u0000"}),
    ("POST", "/api/pipelines", {"name": "P\u0000", "stages": []}),
    ("POST", "/api/pipelines", {"name": "P", "stages": [{"name": "N\u0000ew", "type": "LEAD"}]}),
    ("GET", "/api/contacts?limit=%C2%B2", None),
    ("GET", "/api/contacts?page_id=%00", None),
    ("GET", "/api/contacts?cursor=eyJhZnRlciI6IDF9", None),
    ("GET", "/api/pages/p1/jobs?limit=%C2%B2", None),
    ("GET", "/api/jobs/%00", None),
    ("GET", "/api/jobs/00000000-0000-0000-0000-000000000000/items?cursor=eyJhZnRlciI6IDF9", None),
    ("GET", "/api/pipelines/%00", None),
    ("POST", "/api/pages", "not json"),
]
OPS_REQUESTS = [
    ("GET", "/ops/?q=%00"),
    ("GET", "/ops/?p=%C2%B2"),
    ("GET", "/ops/pages/%00"),
    ("GET", "/ops/contacts/%00"),
    ("GET", "/ops/jobs/%00/items"),
    ("GET", "/ops/stages?pipeline=%00"),
]


async def test_bad_input_gets_a_4xx_json_error_on_a_connection_that_stays_open(api):
    await api.post("/api/pages", json={"id": "p1", "name": "Shop", "access_token": "EAAtoken0123456789"})
    peers = set()
    for method, path, body in API_REQUESTS:
        kwargs = {"content": body} if isinstance(body, str) else {"json": body}
        r = await api.request(method, path, **kwargs)
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:200])
        assert r.headers["content-type"].startswith("application/json"), (method, path)
        assert r.json()["error"], (method, path)
        assert r.headers.get("connection") != "close", (method, path)
        peers.add(r.extensions["network_stream"].get_extra_info("sockname"))
    assert len(peers) == 1  # every answer came on the one keep-alive connection


async def test_bad_console_input_gets_a_4xx_html_page(server, clean_db, service_env):
    url, _ = server
    async with httpx.AsyncClient(base_url=url) as client:
        await login(client, service_env["ADMIN_TOKEN"])
        for method, path in OPS_REQUESTS:
            r = await client.request(method, path)
            assert r.status_code < 500, (path, r.status_code)
            assert r.headers["content-type"].startswith("text/html"), path
        ok = await client.get("/ops/?p=2")
        assert ok.status_code == 200
        r = await client.post("/ops/sync", data={"csrf": "x", "page_id": "a\u0000b"})
        assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")


def body_of(size: int) -> bytes:
    return b"x" * size


@pytest.mark.parametrize(("path", "cap"), [("/api/pages", MiB), ("/ops/login", 64 * KiB)])
async def test_each_cap_accepts_its_exact_size_and_refuses_one_byte_more(api, path, cap, service_env):
    headers = {
        "Content-Type": "application/json" if path.startswith("/api") else "text/plain",
        "Authorization": f"Bearer {service_env['ADMIN_TOKEN']}",
    }
    exact = await api.post(path, content=body_of(cap), headers=headers)
    assert exact.status_code != 413  # read whole, then refused for what it is (not JSON, no token)
    # One byte more, with a Content-Length (refused before reading) and chunked (while reading).
    url = str(api.base_url).rstrip("/")
    assert await announced_post(url, path, cap + 1, headers) == 413
    status, _ = await chunked_post(url, path, cap + 1, headers)
    assert status == 413
    status, _ = await chunked_post(str(api.base_url).rstrip("/"), path, cap, headers)
    assert status != 413


async def test_the_webhook_cap_accepts_exactly_1_mib_signed_and_refuses_one_byte_more(server, service_env):
    url, _ = server
    secret = service_env["META_APP_SECRET"].encode()
    async with httpx.AsyncClient(base_url=url) as client:
        for size, status in ((MiB, 200), (MiB + 1, 413)):
            # A signed JSON object of exactly `size` bytes (another object: acknowledged, counted).
            head = b'{"object":"other","pad":"'
            body = head + b"x" * (size - len(head) - 2) + b'"}'
            assert len(body) == size
            r = await client.post(
                "/webhooks/meta", content=body, headers={"X-Hub-Signature-256": sign(body, secret)}
            )
            assert r.status_code == status, size


@pytest.mark.parametrize("where", ["first", "middle", "last"])
async def test_a_signature_with_one_hex_digit_flipped_is_refused(server, service_env, where):
    url, _ = server
    body = b'{"object":"page","entry":[]}'
    good = sign(body, service_env["META_APP_SECRET"].encode())
    digits = list(good.removeprefix("sha256="))
    at = {"first": 0, "middle": len(digits) // 2, "last": len(digits) - 1}[where]
    digits[at] = "0" if digits[at] != "0" else "1"
    async with httpx.AsyncClient(base_url=url) as client:
        assert (
            await client.post("/webhooks/meta", content=body, headers={"X-Hub-Signature-256": good})
        ).status_code == 200
        r = await client.post(
            "/webhooks/meta", content=body, headers={"X-Hub-Signature-256": "sha256=" + "".join(digits)}
        )
    assert r.status_code == 401


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def announced_post(url: str, path: str, length: int, headers: dict[str, str]) -> int:
    """Only the head of a POST announcing `length` bytes: the status of an answer given unread."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {length}\r\n"
    writer.write((head + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
    try:
        return int((await asyncio.wait_for(reader.readline(), 30)).split()[1])
    finally:
        writer.transport.abort()


async def chunked_post(url: str, path: str, total: int, headers: dict[str, str]) -> tuple[int, int]:
    """POST `total` bytes chunked, stopping as soon as the server answers: (status, bytes sent).

    Raw frames rather than an HTTP client: a server that refuses early closes the connection,
    and the answer must be read even then."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode())
    answer = asyncio.ensure_future(reader.readline())
    sent = 0
    try:
        while sent < total and not answer.done():
            size = min(256 * KiB, total - sent)
            writer.write(b"%x\r\n" % size + b"x" * size + b"\r\n")
            await writer.drain()
            sent += size
            await asyncio.sleep(0.002)  # let the answer be read as soon as it arrives
        if not answer.done():
            writer.write(b"0\r\n\r\n")
        status_line = await asyncio.wait_for(answer, 30)
    except (ConnectionResetError, BrokenPipeError):
        status_line = await asyncio.wait_for(answer, 30)
    finally:
        writer.transport.abort()
    return int(status_line.split()[1]), sent


async def test_200_mib_chunked_posts_get_413_without_growing_the_process(server, service_env):
    url, pid = server
    before = rss_kib(pid)
    auth = {"Authorization": f"Bearer {service_env['ADMIN_TOKEN']}", "Content-Type": "application/json"}
    for path, headers in (
        ("/ops/login", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("/api/pages", auth),
    ):
        status, sent = await chunked_post(url, path, 200 * MiB, headers)
        assert status == 413 and sent < 200 * MiB, (path, status, sent)
    grown = rss_kib(pid) - before
    assert grown < 5 * 1024, f"RSS grew by {grown} KiB"
