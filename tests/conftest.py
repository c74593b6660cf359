"""Session-wide real servers: one Postgres database and one broker namespace per test session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from shared import db
from shared.broker import Publisher, Topology, delete_topology
from tests.support import database, servers
from tests.support import secrets as test_secrets
from tests.support.stack import process_env


@pytest.fixture(scope="session")
def run_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def server_database_url() -> Iterator[str]:
    with servers.postgres_url() as url:
        yield url


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    with servers.rabbitmq_url() as url:
        yield url


@pytest.fixture(scope="session")
async def database_url(server_database_url: str, run_id: str) -> AsyncIterator[str]:
    """A migrated database of this session's own, dropped at the end."""
    parts = urlsplit(server_database_url)
    url = urlunsplit(parts._replace(path=f"/leadsync_test_{run_id}"))
    await db.migrate(url)
    yield url
    await db.drop_database(url)


@pytest.fixture(scope="session")
async def namespace(amqp_url: str, run_id: str) -> AsyncIterator[str]:
    """A broker namespace of this session's own, deleted at the end."""
    ns = f"lstest_{run_id}"
    yield ns
    await delete_topology(amqp_url, Topology(ns))


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await db.create_pool(database_url, min_size=1, max_size=10)
    yield p
    await p.close()


@pytest.fixture
async def clean_db(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """Empty every table before the test: tests that need a known state use this."""
    await database.empty(pool)
    yield pool


@pytest.fixture
async def publisher(amqp_url: str, namespace: str) -> AsyncIterator[Publisher]:
    p = Publisher(amqp_url, Topology(namespace))
    await p.connect()
    yield p
    await p.close()


@pytest.fixture(scope="session")
def service_env(database_url: str, amqp_url: str, namespace: str) -> dict[str, str]:
    """The environment a service process of this test session runs with."""
    return process_env(
        database_url,
        amqp_url,
        namespace,
        LOG_FORMAT="json",
        LOG_LEVEL="info",
        META_APP_SECRET=test_secrets.APP_SECRET,
        META_VERIFY_TOKEN=test_secrets.VERIFY_TOKEN,
        ADMIN_TOKEN=test_secrets.ADMIN_TOKEN,
        TOKEN_ENCRYPTION_KEY=test_secrets.FERNET_KEY,
        PYTHONUNBUFFERED="1",
    )
