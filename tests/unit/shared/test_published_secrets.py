"""Every secret value the repository shows (compose, .env.example, docs) is one the services refuse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.webhook.settings import WebhookSettings
from shared.settings import PUBLISHED_SECRETS
from tests.support import secrets as test_secrets
from tests.support.secrets import SECRET_VARIABLES

ROOT = Path(__file__).resolve().parents[3]
SECRETS = SECRET_VARIABLES
# `NAME=value`, `NAME: value`, `${NAME:-value}` — a value is anything up to a quote, space or brace.
ASSIGNED = re.compile(r"\b(" + "|".join(SECRETS) + r")(?:\s*[=:]\s*|:-)[\"']?([^\s\"'`}$<>…,)]+)")


def shown_values() -> set[tuple[str, str, str]]:
    files = [
        ROOT / "docker-compose.yml",
        ROOT / ".env.example",
        ROOT / "README.md",
        *ROOT.glob("docs/*.md"),
        *ROOT.glob("deploy/**/*.y*ml"),
    ]
    found = set()
    for path in files:
        for name, value in ASSIGNED.findall(path.read_text()):
            if value.startswith(("set", "$", "?", "+")) or value.endswith(":"):
                continue  # `${NAME:?set NAME}`, a reference, code building a value, a heading
            found.add((path.name, name, value))
    return found


def test_the_scan_finds_the_examples():
    assert ("env.example", "ADMIN_TOKEN", "replace-me-with-a-generated-value") in {
        (p.lstrip("."), n, v) for p, n, v in shown_values()
    }


@pytest.mark.parametrize(("path", "name", "value"), sorted(shown_values()))
def test_every_shown_secret_is_refused(path, name, value):
    assert value in PUBLISHED_SECRETS, f"{path}: {name}={value} is shown but not refused"


@pytest.mark.parametrize("value", sorted(PUBLISHED_SECRETS))
def test_the_webhook_refuses_each_published_value_in_each_secret(value):
    good = {
        "meta_app_secret": test_secrets.APP_SECRET,
        "meta_verify_token": test_secrets.VERIFY_TOKEN,
        "admin_token": test_secrets.ADMIN_TOKEN,
    }
    for field in ("meta_app_secret", "meta_verify_token", "admin_token"):
        with pytest.raises(ValidationError):
            WebhookSettings(**{**good, field: value})
    WebhookSettings(**good)  # and the generated ones are fine
