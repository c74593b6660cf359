"""Bad configuration stops a service at start with one clear line, never echoing secrets."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from tests.support.secrets import ADMIN_TOKEN, APP_SECRET, VERIFY_TOKEN


def start(module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "META_APP_SECRET",
            "META_VERIFY_TOKEN",
            "ADMIN_TOKEN",
            "TOKEN_ENCRYPTION_KEY",
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
        }
    }
    return subprocess.run(
        [sys.executable, "-m", module],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


GOOD = {
    "META_APP_SECRET": "s3cr3t-" + APP_SECRET,
    "META_VERIFY_TOKEN": VERIFY_TOKEN,
    "ADMIN_TOKEN": "s3cr3t-" + ADMIN_TOKEN,
}


@pytest.mark.parametrize(
    ("module", "env", "names"),
    [
        ("services.webhook", {"META_VERIFY_TOKEN": "v", "ADMIN_TOKEN": "a"}, ["META_APP_SECRET"]),
        ("services.webhook", {**GOOD, "PORT": "http"}, ["PORT"]),
        (
            "services.webhook",
            {**GOOD, "TOKEN_ENCRYPTION_KEY": "not-a-fernet-key-s3cr3t"},
            ["TOKEN_ENCRYPTION_KEY"],
        ),
        # Fail closed: a short admin token, a secret list without a secret, published examples.
        ("services.webhook", {**GOOD, "ADMIN_TOKEN": "s3cr3t-abc"}, ["ADMIN_TOKEN", "32"]),
        ("services.webhook", {**GOOD, "META_APP_SECRET": " , "}, ["META_APP_SECRET"]),
        ("services.webhook", {**GOOD, "ADMIN_TOKEN": "dev-admin-token-change-me"}, ["ADMIN_TOKEN"]),
        (
            "services.webhook",
            {**GOOD, "META_APP_SECRET": "s3cr3t-x,dev-app-secret-change-me"},
            ["META_APP_SECRET", "published"],
        ),
        (
            "services.webhook",
            {**GOOD, "TOKEN_ENCRYPTION_KEY": "x7P5K2cJm1cJt3nYx7lN9iH1qkq0y8z6yQ8rP1Yk3bE="},
            ["TOKEN_ENCRYPTION_KEY", "published"],
        ),
        ("services.webhook", {**GOOD, "ADMIN_TOKEN": "replace-me-with-a-generated-value"}, ["ADMIN_TOKEN"]),
        ("services.webhook", {**GOOD, "PUBLIC_URL": "ftp://example.com"}, ["PUBLIC_URL"]),
        (
            "services.backfill",
            {"TOKEN_ENCRYPTION_KEY": "x7P5K2cJm1cJt3nYx7lN9iH1qkq0y8z6yQ8rP1Yk3bE="},
            ["TOKEN_ENCRYPTION_KEY", "published"],
        ),
        ("services.analyzer", {"LLM_CONCURRENCY": "0"}, ["LLM_CONCURRENCY"]),
        ("services.assigner", {"LOG_FORMAT": "xml"}, ["LOG_FORMAT"]),
        ("services.backfill", {"GRAPH_API_VERSION": "25"}, ["GRAPH_API_VERSION"]),
    ],
)
async def test_bad_setting_gives_one_line_naming_it_and_exit_1(module, env, names):
    result = await asyncio.to_thread(start, module, env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("leadsync: configuration error:")
    for name in names:
        assert name in lines[0]
    assert "s3cr3t" not in result.stderr
