"""What every part of the webhook service shares (settings, pool, publisher, …), and `deps_of`,
the one typed way a route, a middleware or the delivery handler reaches it."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from starlette.types import Scope

from services.webhook.accounts import InstagramPages
from services.webhook.batcher import ConfirmBatcher
from services.webhook.settings import WebhookSettings
from services.webhook.signature import Verifier
from services.webhook.throttle import FailureThrottle
from shared.broker import Publisher
from shared.crypto import TokenCipher
from shared.meta_app import MetaApp


@dataclass(frozen=True)
class Deps:
    """Made by the app's lifespan once everything is open; `cipher` is None without
    TOKEN_ENCRYPTION_KEY (the routes that store tokens then answer 503)."""

    settings: WebhookSettings
    publisher: Publisher
    pool: asyncpg.Pool
    cipher: TokenCipher | None
    batcher: ConfirmBatcher
    instagram: InstagramPages
    throttle: FailureThrottle
    meta: MetaApp | None  # None without META_APP_ID: connecting pages is off
    verifier: Verifier  # X-Hub-Signature-256 under the app secrets


def install(app: Starlette, deps: Deps) -> None:
    app.state.deps = deps


def deps_of(source: HTTPConnection | Scope | Starlette) -> Deps:
    """The app's dependencies, from a request (or websocket), an ASGI scope or the app."""
    if isinstance(source, Starlette):
        app = source
    else:
        app = (source.scope if isinstance(source, HTTPConnection) else source)["app"]
    found: Deps = app.state.deps
    return found
