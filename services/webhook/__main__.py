"""`python -m services.webhook`: serve Meta webhooks, the admin API and the console on PORT."""

from __future__ import annotations

import asyncio

from services.webhook.app import create_app
from services.webhook.settings import WebhookSettings
from shared import logging
from shared.runtime import HttpServer, run
from shared.settings import load


async def main(stop: asyncio.Event) -> None:
    settings = load(WebhookSettings)
    logging.configure(
        service="webhook", fmt=settings.log_format, level=settings.log_level,
        secrets=settings.secrets(),
    )
    server = HttpServer(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        lifespan="on",
        http="httptools",
        timeout_graceful_shutdown=10,
    )
    await server.start()
    logging.get_logger("leadsync.webhook").info("webhook.listening", port=server.port)
    await stop.wait()
    await server.shutdown()


if __name__ == "__main__":
    run(main)
