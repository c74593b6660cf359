"""The alert rules a person gets paged by: promtool checks and unit-tests them, Prometheus loads them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
ALERTS = {
    "LeadsyncWebhookFailing",
    "LeadsyncDeadLetters",
    "LeadsyncJobStuck",
    "LeadsyncConsumerCircuitOpen",
    "LeadsyncFallbackScoring",
    "LeadsyncWebhookGap",
    "LeadsyncPageUnhealthy",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool is not None, "promtool is missing: `make install` installs Debian's prometheus package"
    return subprocess.run([tool, *args], cwd=RULES.parent, capture_output=True, text=True, timeout=60)


def test_every_alert_passes_its_promtool_unit_tests():
    checked = promtool("check", "rules", RULES.name)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    tests = yaml.safe_load((RULES.parent / "alerts.test.yml").read_text())["tests"]
    covered = {case["alertname"] for t in tests for case in t["alert_rule_test"] if case["exp_alerts"]}
    assert covered == ALERTS  # each alert is shown to fire at least once


def test_alerts_use_metrics_the_services_export():
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    assert {r["alert"] for r in rules} == ALERTS
    source = "\n".join(p.read_text() for d in ("shared", "services") for p in (ROOT / d).rglob("*.py"))
    for name in set(re.findall(r"leadsync_[a-z_]+", RULES.read_text())):
        base = re.sub(r"_(count|sum|bucket)$", "", name)
        assert f'"{base}"' in source, f"{name} is not a metric any service registers"


def test_prometheus_of_the_compose_file_loads_the_rules():
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "/etc/prometheus/alerts.yml" in config["rule_files"]
    assert "./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts
