"""`python -m services.webhook`: serve Meta webhooks and the admin API on PORT."""

from __future__ import annotations

import uvicorn

from services.webhook.app import create_app
from services.webhook.settings import WebhookSettings
from shared import logging
from shared.runtime import bind_socket
from shared.settings import load


def main() -> None:
    settings = load(WebhookSettings)
    logging.configure(
        service="webhook",
        fmt=settings.log_format,
        level=settings.log_level,
        secrets=settings.secrets(),
    )
    sock = bind_socket(settings.host, settings.port)
    config = uvicorn.Config(
        create_app(settings),
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )
    structlog_log = logging.get_logger("leadsync.webhook")
    structlog_log.info("webhook.listening", port=sock.getsockname()[1])
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
