"""Every leadsync metric the Grafana dashboard graphs is one a service really exports."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

from prometheus_client import REGISTRY

import services

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy/grafana/leadsync.json"


def registered_names() -> set[str]:
    """Import every service module (metrics register at import) and list the samples' names."""
    for module in pkgutil.walk_packages(services.__path__, "services."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_sum", "_count"),
        "gauge": ("",),
        "summary": ("_sum", "_count"),
    }
    return {
        metric.name + suffix for metric in REGISTRY.collect() for suffix in suffixes.get(metric.type, ("",))
    }


def test_dashboard_metrics_exist():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = " ".join(t.get("expr", "") for p in panels for t in p.get("targets", []))
    used = set(re.findall(r"\bleadsync_[a-z_]+", exprs))
    assert used, "the dashboard graphs no leadsync metric"
    assert used - registered_names() == set()
