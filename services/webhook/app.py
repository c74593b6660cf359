"""The webhook service's Starlette app: Meta's webhook endpoint, health routes and the admin API."""

from __future__ import annotations

import contextlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import orjson
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services.webhook import api, metrics, signature
from services.webhook.accounts import InstagramPages
from services.webhook.batcher import ConfirmBatcher
from services.webhook.metrics import REJECTED
from services.webhook.parse import COUNTED_ONLY, Parsed, group, parse
from services.webhook.settings import WebhookSettings
from shared import db
from shared.broker import Publisher, Topology
from shared.crypto import TokenCipher
from shared.errors import BrokerUnavailable, PublishNotConfirmed
from shared.runtime import healthz, metrics_endpoint, readyz_endpoint

MAX_BODY = 1024 * 1024
# Responses hold no per-request state, so the 200 every delivery gets is built once.
ACKNOWLEDGED = PlainTextResponse("EVENT_RECEIVED")
RECEIPTS = {*COUNTED_ONLY, "other"}

log = structlog.get_logger("leadsync.webhook")


@dataclass
class Deps:
    settings: WebhookSettings
    publisher: Publisher
    pool: asyncpg.Pool
    cipher: TokenCipher | None = None
    batcher: ConfirmBatcher | None = None
    instagram: InstagramPages | None = None


async def verify_subscription(request: Request) -> Response:
    deps: Deps = request.app.state.deps
    params = request.query_params
    token = params.get("hub.verify_token", "")
    expected = deps.settings.meta_verify_token.get_secret_value()
    if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
        token.encode(), expected.encode()
    ):
        return PlainTextResponse(params.get("hub.challenge", ""))
    REJECTED.labels("verify_token").inc()
    return PlainTextResponse("verification failed", status_code=403)


async def _read_body(request: Request) -> bytes | None:
    """The raw body, or None once it grows past MAX_BODY (never read whole)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        return None
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(reason: str, status: int, text: str) -> Response:
    REJECTED.labels(reason).inc()
    return PlainTextResponse(text, status_code=status)


async def receive_event(request: Request) -> Response:
    started = time.perf_counter()
    response = await _receive(request)
    metrics.request_seconds(response.status_code).observe(time.perf_counter() - started)
    return response


async def _receive(request: Request) -> Response:
    deps: Deps = request.app.state.deps
    body = await _read_body(request)
    if body is None:
        return _refuse("too_large", 413, "body larger than 1 MiB")
    header = request.headers.get("x-hub-signature-256")
    problem = signature.problem(body, header, deps.settings.app_secrets)
    if problem is not None:
        if header is None and "x-hub-signature" in request.headers:
            problem = "sha1_only"  # the legacy SHA-1 header alone proves nothing
        return _refuse(problem, 401, "missing or invalid X-Hub-Signature-256")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _refuse("malformed_json", 400, "body is not JSON")
    parsed = parse(payload, now=datetime.now(UTC))
    platform = parsed.platform or "other"
    for kind, count in parsed.kinds.items():
        metrics.events(platform, kind).inc(count)
    if parsed.platform is None or not parsed.items:
        if not parsed.kinds.keys() <= RECEIPTS:
            # Feed changes, dashboard tests, odd shapes: worth a line; receipts are routine.
            log.info("webhook.ignored", object=platform, kinds=parsed.kinds)
        return ACKNOWLEDGED
    assert deps.batcher is not None
    try:
        pages = None
        if parsed.platform == "instagram":
            assert deps.instagram is not None
            pages = await deps.instagram.resolve(parsed.accounts)
        events, unknown = group(parsed.items, platform=parsed.platform, pages=pages)
        if unknown and deps.instagram is not None:
            _count_unknown(deps.instagram, parsed, unknown)
        await deps.batcher.submit(events)
    except (BrokerUnavailable, PublishNotConfirmed) as err:
        log.warning("webhook.publish_failed", error=str(err), items=len(parsed.items))
        return _refuse("broker_unavailable", 503, "broker unavailable, retry later")
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
        log.warning("webhook.database_unavailable", error=type(err).__name__)
        return _refuse("database_unavailable", 503, "database unavailable, retry later")
    return ACKNOWLEDGED


def _count_unknown(instagram: InstagramPages, parsed: Parsed, unknown: set[str]) -> None:
    items = sum(1 for item in parsed.items if item.account_id in unknown)
    metrics.events("instagram", "unknown_account").inc(items)
    for account in instagram.first_report(unknown):
        log.warning(
            "webhook.unknown_instagram_account", account_id=account,
            hint="register the page with its instagram_account_id (POST /api/pages)",
        )


def create_app(
    settings: WebhookSettings,
    *,
    publisher: Publisher | None = None,
    pool: asyncpg.Pool | None = None,
) -> Starlette:
    """The app; dependencies not given are created by its lifespan and closed after it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        own_pool = pool is None
        own_publisher = publisher is None
        the_pool = pool or await db.create_pool(settings.database_url, min_size=0)
        the_publisher = publisher or Publisher(
            settings.amqp_url.get_secret_value(), Topology(settings.broker_namespace)
        )
        batcher = ConfirmBatcher(the_publisher)
        try:
            if own_publisher:
                try:
                    await the_publisher.connect()
                except BrokerUnavailable as err:
                    log.warning("webhook.broker_unavailable_at_start", error=str(err))
            key = settings.token_encryption_key
            cipher = TokenCipher(key.get_secret_value()) if key else None
            batcher.start()
            app.state.deps = Deps(
                settings, the_publisher, the_pool, cipher, batcher, InstagramPages(the_pool)
            )
            yield
        finally:
            await batcher.close()
            if own_publisher:
                await the_publisher.close()
            if own_pool:
                await the_pool.close()

    async def broker_ready() -> bool:
        deps: Deps = app.state.deps
        if not deps.publisher.connected:
            await deps.publisher.connect()
        return deps.publisher.connected

    async def db_ready() -> bool:
        deps: Deps = app.state.deps
        return await deps.pool.fetchval("SELECT 1") == 1

    app = Starlette(
        routes=[
            Route("/webhooks/meta", verify_subscription, methods=["GET"]),
            Route("/webhooks/meta", receive_event, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz_endpoint({"broker": broker_ready, "database": db_ready})),
            Route("/metrics", metrics_endpoint),
            api.mount(),
        ],
        exception_handlers=api.exception_handlers,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    return app

