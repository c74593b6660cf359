"""The webhook service's app: Meta's webhook endpoint, health routes and the admin API."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import AsyncIterator

import asyncpg
import httpx
import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from services.webhook import api, deliveries, meta_callbacks, ops
from services.webhook.accounts import InstagramPages
from services.webhook.api.errors import exception_handlers
from services.webhook.batcher import ConfirmBatcher
from services.webhook.boundary import InputBoundary
from services.webhook.deps import Deps, deps_of, install
from services.webhook.metrics import REJECTED
from services.webhook.settings import WebhookSettings
from services.webhook.signature import Verifier
from services.webhook.throttle import FailureThrottle
from shared import db
from shared.broker import Publisher, Topology
from shared.crypto import TokenCipher
from shared.errors import BrokerUnavailable
from shared.graph import GraphClient
from shared.meta_app import MetaApp
from shared.runtime import Check, healthz, readyz_endpoint

log = structlog.get_logger("leadsync.webhook")

RECONNECT_EVERY_S = 5.0
# uvicorn options of the webhook; bench/baseline_app.py serves its bare app with the same ones.
SERVER_OPTIONS = {"http": "httptools", "timeout_graceful_shutdown": 10}


async def verify_subscription(request: Request) -> Response:
    deps = deps_of(request)
    params = request.query_params
    token = params.get("hub.verify_token", "")
    expected = deps.settings.meta_verify_token.get_secret_value()
    if params.get("hub.mode") == "subscribe" and hmac.compare_digest(token.encode(), expected.encode()):
        return PlainTextResponse(params.get("hub.challenge", ""))
    REJECTED.labels("verify_token").inc()
    return PlainTextResponse("verification failed", status_code=403)


class WebhookApp(Starlette):
    """Starlette, except that Meta's deliveries go straight to their bare ASGI handler."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == deliveries.PATH:
            await deliveries.handle(deps_of(self), scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: WebhookSettings,
    *,
    publisher: Publisher | None = None,
    pool: asyncpg.Pool | None = None,
) -> WebhookApp:
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
        reconnector: asyncio.Task[None] | None = None
        http = httpx.AsyncClient(timeout=httpx.Timeout(20, connect=5))
        try:
            if own_publisher:
                try:
                    await the_publisher.connect()
                except BrokerUnavailable as err:
                    log.warning("webhook.broker_unavailable_at_start", error=str(err))
            key = settings.token_encryption_key
            cipher = TokenCipher(key.get_secret_value()) if key else None
            batcher.start()
            install(
                app,
                Deps(
                    settings,
                    the_publisher,
                    the_pool,
                    cipher,
                    batcher,
                    InstagramPages(the_pool),
                    FailureThrottle(limit=settings.auth_failures_per_minute),
                    MetaApp.from_settings(settings, GraphClient.from_settings(settings, http)),
                    Verifier(settings.app_secrets),
                ),
            )
            reconnector = asyncio.create_task(_keep_connected(the_publisher))
            yield
        finally:
            if reconnector is not None:
                reconnector.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reconnector
            await batcher.close()
            await http.aclose()
            if own_publisher:
                await the_publisher.close()
            if own_pool:
                await the_pool.close()

    async def broker_ready() -> bool:
        # The state of the one connection the lifespan keeps up: a probe never dials RabbitMQ.
        return deps_of(app).publisher.connected

    async def db_ready() -> bool:
        return bool(await deps_of(app).pool.fetchval("SELECT 1") == 1)

    checks: dict[str, Check] = {"broker": broker_ready, "database": db_ready}
    app = WebhookApp(
        routes=[
            # POST deliveries never get here (WebhookApp.__call__); GET is the handshake.
            Route(deliveries.PATH, verify_subscription, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz_endpoint(checks)),
            *meta_callbacks.routes,
            api.mount(),
            ops.mount(),
        ],
        exception_handlers=exception_handlers,
        # Every route's body cap and control-character check, in front of the router.
        middleware=[Middleware(InputBoundary)],
        lifespan=lifespan,
    )
    # __main__ serves these on METRICS_PORT too, with /metrics (which PORT does not serve).
    app.state.checks = checks
    return app


async def _keep_connected(publisher: Publisher) -> None:
    """Reconnect a lost broker connection in the background, so /readyz recovers by itself."""
    while True:
        await asyncio.sleep(RECONNECT_EVERY_S)
        if not publisher.connected:
            try:
                await publisher.connect()
                log.info("webhook.broker_reconnected")
            except BrokerUnavailable:
                pass
