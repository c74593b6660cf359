"""Where the tests' Postgres and RabbitMQ are: env URLs, the local defaults, else testcontainers."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from shared.settings import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), 2):
            return True
    except OSError:
        return False


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def _configured(variable: str, default: str, port: int) -> str | None:
    """The server's URL from the environment when it answers (or Docker cannot stand in)."""
    url = os.environ.get(variable, default)
    return url if _answers(url, port) or not _docker_answers() else None


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    url = _configured("DATABASE_URL", DEFAULT_DATABASE_URL, 5432)
    if url is not None:
        yield url
        return
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16-alpine", driver=None) as pg:
        yield pg.get_connection_url().replace("postgresql+psycopg2", "postgresql")


@contextlib.contextmanager
def rabbitmq_url() -> Iterator[str]:
    if (url := _configured("AMQP_URL", DEFAULT_AMQP_URL, 5672)) is not None:
        yield url
        return
    from testcontainers.rabbitmq import RabbitMqContainer

    with RabbitMqContainer("rabbitmq:3.13-management") as rmq:
        params = rmq.get_connection_params()
        yield f"amqp://guest:guest@{params.host}:{params.port}/"
