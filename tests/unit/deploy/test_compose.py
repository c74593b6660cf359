"""docker-compose.yml runs what the settings expect (no Docker engine here: the file is parsed)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.analyzer.settings import AnalyzerSettings
from services.assigner.settings import AssignerSettings
from services.backfill.settings import BackfillSettings
from services.webhook.settings import WebhookSettings
from shared.settings import PUBLISHED_SECRETS
from tests.support.secrets import SECRET_VARIABLES

ROOT = Path(__file__).resolve().parents[3]
# Debian's docker-compose (`make test` installs it, like Chromium): parses and interpolates the
# file without a Docker engine.
DOCKER_COMPOSE = shutil.which("docker-compose") or "docker-compose"
SETTINGS: dict[str, type[BaseSettings]] = {
    "webhook": WebhookSettings,
    "analyzer": AnalyzerSettings,
    "assigner": AssignerSettings,
    "backfill": BackfillSettings,
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_names(cls: type[BaseSettings]) -> tuple[set[str], set[str]]:
    """(every variable the class reads, the ones it requires), upper-cased."""
    known: set[str] = set()
    required: set[str] = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        names = {name}
        if isinstance(alias, AliasChoices):
            names = {str(c) for c in alias.choices}
        elif isinstance(alias, str):
            names = {alias}
        known |= {n.upper() for n in names}
        if field.is_required():
            required |= {n.upper() for n in names}
    return known, required


def test_the_stack_has_the_brokers_and_the_four_services(compose):
    services = compose["services"]
    assert {"rabbitmq", "postgres", *SETTINGS} <= set(services)
    assert "management" in services["rabbitmq"]["image"]
    assert services["postgres"]["image"].startswith("postgres:")


@pytest.mark.parametrize("name", list(SETTINGS))
def test_each_service_runs_from_the_one_image(compose, name):
    service = compose["services"][name]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    assert service["image"] == compose["services"]["migrate"]["image"]
    assert service["command"] == ["python", "-m", f"services.{name}"]
    # Migrations run once before any service, and the broker must be up.
    assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert service["depends_on"]["rabbitmq"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_variable_set_is_one_the_service_reads(compose, name):
    env = compose["services"][name]["environment"]
    known, required = env_names(SETTINGS[name])
    assert set(env) - known == set(), f"{name} sets variables its settings ignore"
    assert required - set(env) == set(), f"{name} lacks required variables"


def test_health_checks_probe_the_right_endpoint(compose):
    services = compose["services"]
    for name in ("rabbitmq", "postgres", "prometheus", "grafana"):
        assert services[name]["healthcheck"]["test"]
    webhook = services["webhook"]
    port = webhook["environment"]["METRICS_PORT"]
    assert f":{port}/readyz" in " ".join(webhook["healthcheck"]["test"])
    for name in ("analyzer", "assigner", "backfill"):
        service = services[name]
        port = service["environment"]["METRICS_PORT"]
        assert f":{port}/healthz" in " ".join(service["healthcheck"]["test"]), name


def test_migrate_runs_the_cli_after_postgres_is_healthy(compose):
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["leadsync", "migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert set(migrate["environment"]) <= env_names(AssignerSettings)[0]


def test_monitoring_is_an_optional_profile_with_the_dashboard(compose):
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
    mounts = " ".join(services["grafana"]["volumes"])
    assert "./deploy/grafana/leadsync.json:" in mounts
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning" in mounts
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml" in " ".join(
        services["prometheus"]["volumes"]
    )


def test_prometheus_scrapes_every_service_where_it_listens(compose):
    config = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    services = compose["services"]
    # The webhook's metrics are on METRICS_PORT, never on the public PORT.
    assert f"webhook:{services['webhook']['environment']['PORT']}" not in targets
    for name in ("webhook", "analyzer", "assigner", "backfill"):
        assert f"{name}:{services[name]['environment']['METRICS_PORT']}" in targets
    assert any(t.startswith("rabbitmq:") for t in targets)


def test_the_dockerfile_installs_every_package_the_services_import():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) ", dockerfile, flags=re.M))
    assert {"shared", "services", "leadsync"} <= copied
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` (interpolation and validation; no engine needed) in a clean env."""
    base = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
    with tempfile.TemporaryDirectory() as empty:  # no .env file of a developer is read
        return subprocess.run(
            [DOCKER_COMPOSE, "--project-directory", empty, "-f", str(ROOT / "docker-compose.yml"), "config"],
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )


def generated_env() -> dict[str, str]:
    """The values the one-line command of .env.example generates, plus a Meta app secret."""
    command = next(
        line.strip().removeprefix("#").strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "python3 -c" in line
    )
    out = subprocess.run(command, shell=True, capture_output=True, text=True, check=True).stdout
    env = dict(line.split("=", 1) for line in out.split())
    return {**env, "META_APP_SECRET": secrets.token_hex(16)}


@pytest.mark.parametrize("missing", SECRET_VARIABLES)
def test_compose_refuses_to_start_without_each_secret(missing):
    env = {k: v for k, v in generated_env().items() if k != missing}
    result = compose_config(env)
    assert result.returncode != 0
    assert f"set {missing}" in result.stderr


def test_compose_with_the_secrets_publishes_the_brokers_on_loopback_only():
    result = compose_config(generated_env())
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    for name in ("postgres", "rabbitmq", "prometheus"):
        for port in config["services"][name]["ports"]:
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", (name, port)


def test_the_generated_values_are_accepted_and_the_placeholders_refused():
    env = generated_env()
    settings = WebhookSettings(
        meta_app_secret=env["META_APP_SECRET"],
        meta_verify_token=env["META_VERIFY_TOKEN"],
        admin_token=env["ADMIN_TOKEN"],
        token_encryption_key=env["TOKEN_ENCRYPTION_KEY"],
    )
    assert settings.admin_token.get_secret_value() == env["ADMIN_TOKEN"]
    placeholders = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name in SECRET_VARIABLES:
        assert placeholders[name] in PUBLISHED_SECRETS, name
