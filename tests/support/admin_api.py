"""The webhook app in-process over httpx's ASGI transport, with the real pool and publisher."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
import httpx

from services.webhook.app import create_app
from services.webhook.settings import WebhookSettings
from shared.broker import Publisher


def settings_for(env: dict[str, str], **overrides: object) -> WebhookSettings:
    """The webhook's settings for this test session's environment."""
    values: dict[str, object] = {
        "meta_app_secret": env["META_APP_SECRET"],
        "meta_verify_token": env["META_VERIFY_TOKEN"],
        "admin_token": env["ADMIN_TOKEN"],
        "token_encryption_key": env["TOKEN_ENCRYPTION_KEY"],
        "database_url": env["DATABASE_URL"],
        "amqp_url": env["AMQP_URL"],
        "broker_namespace": env["BROKER_NAMESPACE"],
        **overrides,
    }
    return WebhookSettings(**values)


@contextlib.asynccontextmanager
async def admin_client(
    env: dict[str, str], pool: asyncpg.Pool, publisher: Publisher, **overrides: object
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the admin API authenticated with the session's ADMIN_TOKEN."""
    app = create_app(settings_for(env, **overrides), publisher=publisher, pool=pool)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://admin.test",
            headers={"Authorization": f"Bearer {env['ADMIN_TOKEN']}"},
        ) as client:
            yield client
