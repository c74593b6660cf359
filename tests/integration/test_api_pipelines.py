"""Admin API pipelines: stages in order, validation naming fields, automatic ranges on request."""

from __future__ import annotations

import pytest

from tests.support.admin_api import admin_client
from tests.support.pipelines import STANDARD_RANGES, stage_bodies

STAGES = stage_bodies()  # the e2e pipeline: New, Warm, Engaged, ... Archive


@pytest.fixture
async def api(clean_db, service_env, publisher):
    async with admin_client(service_env, clean_db, publisher) as client:
        yield client


async def test_create_get_and_generate_ranges(api):
    r = await api.post("/api/pipelines", json={"name": "Sales", "stages": STAGES})
    assert r.status_code == 201
    created = r.json()
    assert [
        (s["name"], s["position"], s["lead_score_min"], s["lead_score_max"]) for s in created["stages"]
    ] == [(s["name"], i, 0, 100) for i, s in enumerate(STAGES)]
    assert (await api.get(f"/api/pipelines/{created['id']}")).json() == created
    r = await api.post(f"/api/pipelines/{created['id']}/score-ranges")
    assert r.status_code == 200
    assert [(s["lead_score_min"], s["lead_score_max"]) for s in r.json()["stages"]] == STANDARD_RANGES
    listed = (await api.get("/api/pipelines")).json()["items"]
    assert [(p["id"], p["stage_count"]) for p in listed] == [(created["id"], 8)]


async def test_explicit_ranges_are_kept(api):
    body = {
        "name": "Custom",
        "stages": [
            {"name": "Cold", "type": "LEAD", "lead_score_min": 0, "lead_score_max": 49},
            {"name": "Hot", "type": "IN_PROGRESS", "lead_score_min": 50, "lead_score_max": 100},
        ],
    }
    stages = (await api.post("/api/pipelines", json=body)).json()["stages"]
    assert [(s["lead_score_min"], s["lead_score_max"]) for s in stages] == [(0, 49), (50, 100)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"stages": STAGES}, "name"),
        ({"name": "  ", "stages": []}, "name"),
        ({"name": "P", "stages": [{"name": "A", "type": "HOT"}]}, "stages.0.type"),
        ({"name": "P", "stages": [{"type": "LEAD"}]}, "stages.0.name"),
        (
            {
                "name": "P",
                "stages": [
                    {"name": "A", "type": "LEAD"},
                    {"name": "B", "type": "LEAD", "lead_score_min": 60, "lead_score_max": 40},
                ],
            },
            "stages.1.lead_score_max",
        ),
        (
            {"name": "P", "stages": [{"name": "A", "type": "LEAD", "lead_score_min": 101}]},
            "stages.0.lead_score_min",
        ),
        ({"name": "P", "stages": [{"name": "A", "type": "LEAD"}, {"name": " a ", "type": "WON"}]}, "stages"),
        ({"name": "P", "stages": [{"name": f"S{i}", "type": "LEAD"} for i in range(21)]}, "stages"),
        ({"name": "P", "stages": "LEAD"}, "stages"),
    ],
)
async def test_invalid_pipeline_is_422_naming_the_field(api, body, field):
    r = await api.post("/api/pipelines", json=body)
    assert (r.status_code, r.json()["field"]) == (422, field), r.text


async def test_unknown_or_malformed_ids_are_404(api):
    unknown = "6c4d0c3e-8d8e-4a51-9d57-000000000000"
    for path in (f"/api/pipelines/{unknown}", "/api/pipelines/not-a-uuid"):
        assert (await api.get(path)).status_code == 404
        assert (await api.post(f"{path}/score-ranges")).status_code == 404


async def test_ranges_that_cannot_be_split_are_refused(api):
    body = {"name": "Wins", "stages": [{"name": f"W{i}", "type": "WON"} for i in range(20)]}
    created = (await api.post("/api/pipelines", json=body)).json()
    r = await api.post(f"/api/pipelines/{created['id']}/score-ranges")
    assert (r.status_code, r.json()["field"]) == (422, "stages")
    assert "at most 19" in r.json()["error"]
