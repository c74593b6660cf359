"""The pipeline the end-to-end tests create: every stage type, default ranges generated."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

STAGES = [
    ("New", "LEAD"),
    ("Warm", "LEAD"),
    ("Engaged", "LEAD"),
    ("Qualified", "IN_PROGRESS"),
    ("Negotiation", "IN_PROGRESS"),
    ("Won", "WON"),
    ("Lost", "LOST"),
    ("Archive", "ARCHIVED"),
]
# Default ranges become New 0-10, Warm 11-20, Engaged 21-30, Qualified 31-55, Negotiation 56-80,
# Won 81-100, Lost 0-20, Archive 0-100 (never chosen): §7.2 of STAGES.
# A short pipeline: one open stage of each scored kind, and the two closing ones.
SHORT = [("New", "LEAD"), ("Talking", "IN_PROGRESS"), ("Won", "WON"), ("Lost", "LOST")]
STANDARD_RANGES = [(0, 10), (11, 20), (21, 30), (31, 55), (56, 80), (81, 100), (0, 20), (0, 100)]


def stage_bodies(stages: Sequence[tuple[str, str]] = STAGES) -> list[dict[str, str]]:
    """`stages` as the admin API takes them."""
    return [{"name": n, "type": t} for n, t in stages]


async def new_pipeline(
    api: httpx.AsyncClient, stages: Sequence[tuple[str, str]] = STAGES, *, name: str = "Sales"
) -> str:
    """A pipeline of `stages` through the admin API; its id."""
    r = await api.post("/api/pipelines", json={"name": name, "stages": stage_bodies(stages)})
    assert r.status_code == 201, r.text
    pipeline_id: str = r.json()["id"]
    return pipeline_id


async def sales_page(
    api: httpx.AsyncClient,
    page_id: str,
    name: str,
    token: str,
    *,
    stages: Sequence[tuple[str, str]] = STAGES,
    **page: object,
) -> str:
    """A pipeline of `stages` and a page placed by it (UPDATE_EXISTING unless `page` says
    otherwise), through the admin API; returns the pipeline's id."""
    pipeline_id = await new_pipeline(api, stages)
    r = await api.post(
        "/api/pages",
        json={
            "id": page_id,
            "name": name,
            "access_token": token,
            "auto_pipeline_id": pipeline_id,
            "auto_pipeline_mode": "UPDATE_EXISTING",
            **page,
        },
    )
    assert r.status_code == 201, r.text
    return pipeline_id
