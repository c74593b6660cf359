"""`python -m services.webhook`: serve Meta webhooks and the admin API on PORT."""

from __future__ import annotations

from typing import Any

import uvicorn

from services.webhook.app import create_app
from services.webhook.settings import WebhookSettings
from shared import logging
from shared.runtime import bind_socket
from shared.settings import load


def server_config(app: Any) -> uvicorn.Config:
    """The uvicorn settings the webhook runs with (bench/ingress.py runs its baseline on them too)."""
    return uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )


def main() -> None:
    settings = load(WebhookSettings)
    logging.configure(
        service="webhook",
        fmt=settings.log_format,
        level=settings.log_level,
        secrets=settings.secrets(),
    )
    sock = bind_socket(settings.host, settings.port)
    log = logging.get_logger("leadsync.webhook")
    log.info("webhook.listening", port=sock.getsockname()[1])
    uvicorn.Server(server_config(create_app(settings))).run(sockets=[sock])


if __name__ == "__main__":
    main()
