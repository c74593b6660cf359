"""This test process's secrets, random per run: the services refuse every value the repository
publishes (compose examples, docs), and a literal here would be one of them."""

from __future__ import annotations

import secrets

from cryptography.fernet import Fernet

ADMIN_TOKEN = secrets.token_urlsafe(32)
APP_SECRET = secrets.token_hex(16)
INSTAGRAM_APP_SECRET = secrets.token_hex(16)
VERIFY_TOKEN = secrets.token_urlsafe(16)
FERNET_KEY = Fernet.generate_key().decode()

# Every variable the compose file and the docs treat as a secret (none may have a published value).
SECRET_VARIABLES = (
    "META_APP_SECRET",
    "META_VERIFY_TOKEN",
    "ADMIN_TOKEN",
    "TOKEN_ENCRYPTION_KEY",
    "POSTGRES_PASSWORD",
    "RABBITMQ_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
)
