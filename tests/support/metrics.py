"""The Prometheus samples of every process of one service under `leadsync run` (ports from logs)."""

from __future__ import annotations

import json

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


async def service_samples(logs: str, service: str) -> tuple[int, list[Sample]]:
    """How many processes of `service` listen, and all their samples."""
    ports = [
        json.loads(line)["port"]
        for line in logs.splitlines()
        if '"health.listening"' in line and f'"{service}"' in line
    ]
    samples: list[Sample] = []
    async with httpx.AsyncClient() as client:
        for port in ports:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            for family in text_string_to_metric_families(text):
                samples.extend(family.samples)
    return len(ports), samples
