"""Schemathesis against the webhook service's own OpenAPI document, over real Postgres.

Every documented /api operation (the document lists every /api route: test_api_contract) gets
examples, boundary values (the coverage phase) and fuzzed inputs, valid and invalid, NUL and any
Unicode included; a stateful run chains the operations through the responses. Checks: no 5xx,
responses as documented (status, content type, schema), valid input accepted, invalid refused,
401 without the token, 405 for undeclared methods. Routes added later are fuzzed without a change
here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from leadsync.sim.graph import SimGraph
from tests.support import secrets as test_secrets
from tests.support.sim_thread import serving_in_thread
from tests.support.stack import free_port

EXAMPLES = int(os.environ.get("LEADSYNC_FUZZ_EXAMPLES", "20"))
CONFIG = f"""
[generation]
mode = "all"
max-examples = {EXAMPLES}
allow-x00 = true
codec = "utf-8"

[phases.examples]
enabled = true
[phases.coverage]
enabled = true
[phases.fuzzing]
enabled = true
[phases.stateful]
enabled = true
"""


@pytest.fixture(scope="module")
def api_server(service_env) -> Iterator[tuple[str, dict[str, str], SimGraph]]:
    """`python -m services.webhook` on a free port, with this session's database."""
    port = free_port()
    sim = SimGraph(app_secret=test_secrets.APP_SECRET)  # the connect routes ask Meta
    sim.add_page("9001", "EAAPfuzzpagetoken0123456789abcdef", name="Fuzzed shop", messenger=1)
    sim.meta.add_user("10150000000000001", "Fuzz Owner", ["9001"])
    meta = serving_in_thread(sim)
    graph_url = meta.__enter__()
    env = {
        **service_env,
        "PORT": str(port),
        "METRICS_PORT": "0",
        "LOG_LEVEL": "warning",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GRAPH_API_BASE_URL": graph_url,
        "META_APP_ID": sim.meta.app_id,
        # The fuzzer sends hundreds of requests without a token on purpose.
        "AUTH_FAILURES_PER_MINUTE": "1000000",
    }
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.webhook"], env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None, "webhook did not start"
                time.sleep(0.1)
            yield url, {"Authorization": f"Bearer {service_env['ADMIN_TOKEN']}"}, sim
            proc.terminate()
            proc.wait(20)
            log.seek(0)
            errors = [line for line in log.read().decode().splitlines() if "internal_error" in line]
            assert errors == [], errors  # the catch-all never fired
        finally:
            if proc.poll() is None:
                proc.kill()
            meta.__exit__(None, None, None)


@pytest.fixture(scope="module")
def api_schema(api_server):
    url, auth, sim = api_server
    config = schemathesis.Config.from_str(CONFIG)
    schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json", headers=auth, config=config)
    schema.config.update(base_url=url, headers=auth)

    @schema.hook
    def map_case(context, case):
        return with_user_token(coherent_pipeline(case), sim)

    return schema


def coherent_pipeline(case):
    """Rules one field's schema cannot say (documented on the operation): stage names differ
    and a range's max is not below its min. Valid-by-schema cases are made valid by these too."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    if case.method == "POST" and case.path == "/api/pipelines" and isinstance(case.body, dict):
        stages = case.body.get("stages")
        if isinstance(stages, list):
            for i, stage in enumerate(stages):
                if isinstance(stage, dict):
                    if isinstance(stage.get("name"), str):
                        stage["name"] = f"{stage['name'].strip()[:190]} {i}"
                    low = stage.get("lead_score_min", 0)
                    high = stage.get("lead_score_max", 100)
                    if number(low) and number(high) and low > high:
                        stage["lead_score_min"], stage["lead_score_max"] = high, low
    return case


def with_user_token(case, sim: SimGraph):
    """A valid-by-schema connect request carries a token Meta accepts (any other Meta refuses,
    which is right and answered 400)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    if case.path in ("/api/connect", "/api/connect/discover") and isinstance(case.body, dict):
        case.body["user_access_token"] = sim.meta.user_token("10150000000000001")
    return case


def number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=EXAMPLES)
def test_every_documented_operation_holds_under_fuzzing(case):
    case.call_and_validate()


def test_stateful_sequences_hold(api_schema):
    machine = api_schema.as_state_machine()
    machine.run(
        settings=settings(
            max_examples=max(EXAMPLES // 5, 3),
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
