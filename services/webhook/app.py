"""The webhook service's Starlette app: Meta's webhook endpoint and health routes."""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import orjson
import structlog
from prometheus_client import Counter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from services.webhook import api, ops, signature
from services.webhook.parse import parse
from services.webhook.settings import WebhookSettings
from shared import db
from shared.broker import Publisher, Topology
from shared.crypto import TokenCipher
from shared.errors import BrokerUnavailable
from shared.runtime import healthz, metrics_endpoint, readyz_endpoint

MAX_BODY = 1024 * 1024

log = structlog.get_logger("leadsync.webhook")

REJECTED = Counter(
    "leadsync_webhook_rejected_total", "Webhook deliveries refused, by reason.", ["reason"]
)
EVENTS = Counter(
    "leadsync_webhook_events_total",
    "Webhook items received, by platform and kind (published ones are kind=message).",
    ["platform", "kind"],
)


@dataclass
class Deps:
    settings: WebhookSettings
    publisher: Publisher
    pool: asyncpg.Pool
    cipher: TokenCipher | None = None


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


async def receive_event(request: Request) -> Response:
    deps: Deps = request.app.state.deps
    body = await _read_body(request)
    if body is None:
        REJECTED.labels("too_large").inc()
        return PlainTextResponse("body larger than 1 MiB", status_code=413)
    if not signature.verify(
        body, request.headers.get("x-hub-signature-256"), deps.settings.app_secrets
    ):
        REJECTED.labels("signature").inc()
        return PlainTextResponse("missing or invalid X-Hub-Signature-256", status_code=401)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        REJECTED.labels("malformed_json").inc()
        return PlainTextResponse("body is not JSON", status_code=400)
    parsed = parse(payload)
    platform = {"page": "messenger", "instagram": "instagram"}.get(
        str(payload.get("object")) if isinstance(payload, dict) else "", "other"
    )
    for kind, count in parsed.ignored.items():
        EVENTS.labels(platform, kind).inc(count)
    if not parsed.events:
        return PlainTextResponse("EVENT_RECEIVED")
    try:
        await deps.publisher.publish_many(parsed.events)
    except BrokerUnavailable as err:
        REJECTED.labels("broker_unavailable").inc()
        log.warning("webhook.publish_failed", error=str(err), events=len(parsed.events))
        return PlainTextResponse("broker unavailable, retry later", status_code=503)
    EVENTS.labels(platform, "message").inc(len(parsed.events))
    return PlainTextResponse("EVENT_RECEIVED")


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
        try:
            if own_publisher:
                try:
                    await the_publisher.connect()
                except BrokerUnavailable as err:
                    log.warning("webhook.broker_unavailable_at_start", error=str(err))
            key = settings.token_encryption_key
            cipher = TokenCipher(key.get_secret_value()) if key else None
            app.state.deps = Deps(settings, the_publisher, the_pool, cipher)
            yield
        finally:
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
            ops.mount(),
        ],
        exception_handlers=api.exception_handlers,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    return app
