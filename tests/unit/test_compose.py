"""docker-compose.yml runs what the settings expect (no Docker engine here: the file is parsed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.analyzer.settings import AnalyzerSettings
from services.assigner.settings import AssignerSettings
from services.backfill.settings import BackfillSettings
from services.webhook.settings import WebhookSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, type[BaseSettings]] = {
    "webhook": WebhookSettings,
    "analyzer": AnalyzerSettings,
    "assigner": AssignerSettings,
    "backfill": BackfillSettings,
}


@pytest.fixture(scope="module")
def compose() -> dict:
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
    assert f":{webhook['environment']['PORT']}/readyz" in " ".join(webhook["healthcheck"]["test"])
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
    targets = {
        t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]
    }
    services = compose["services"]
    assert f"webhook:{services['webhook']['environment']['PORT']}" in targets
    for name in ("analyzer", "assigner", "backfill"):
        assert f"{name}:{services[name]['environment']['METRICS_PORT']}" in targets
    assert any(t.startswith("rabbitmq:") for t in targets)


def test_the_dockerfile_installs_every_package_the_services_import():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) ", dockerfile, flags=re.M))
    assert {"shared", "services", "leadsync"} <= copied
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored
