"""Admin API for pipelines and their stages: create, list, get, and automatic score ranges (§7.2)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from starlette.requests import Request
from starlette.responses import Response

from services.webhook.api.encoding import ApiResponse
from services.webhook.api.errors import found, not_found, parse_body
from services.webhook.api.spec import PIPELINE_ID, ApiRoute, Operation
from services.webhook.boundary import INTEGRAL, Name
from services.webhook.deps import deps_of
from shared.errors import Invalid
from shared.score_ranges import auto_ranges
from shared.vocabulary import StageType

MAX_STAGES = 20
Score = Annotated[int, Field(ge=0, le=100), INTEGRAL]


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    type: StageType
    lead_score_min: Score = 0
    lead_score_max: Score = 100

    @field_validator("lead_score_max")
    @classmethod
    def _max_not_below_min(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("lead_score_min", 0)
        if value < low:
            raise ValueError(f"must be at least lead_score_min ({low})")
        return value


class PipelineIn(BaseModel):
    """Stages take their positions from their order; ranges left at 0-100 are generated later."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    stages: list[StageIn] = Field(default_factory=list, max_length=MAX_STAGES)

    @field_validator("stages")
    @classmethod
    def _unique_names(cls, stages: list[StageIn]) -> list[StageIn]:
        # Rule 4 of §7.1 matches stages by name, so two stages may not share one.
        seen: set[str] = set()
        for stage in stages:
            key = stage.name.casefold()
            if key in seen:
                raise ValueError(f"two stages are named {stage.name!r}; stage names must differ")
            seen.add(key)
        return stages


def parse_uuid(value: str, what: str) -> UUID:
    """A path id; one that is not a uuid cannot name anything, so it is a 404."""
    try:
        return UUID(value)
    except ValueError:
        raise not_found(what, value) from None


async def insert_pipeline(conn: asyncpg.Connection, body: PipelineIn) -> str:
    """Create the pipeline and its stages in one transaction; returns the new id."""
    async with conn.transaction():
        pipeline_id: str = await conn.fetchval(
            "INSERT INTO pipelines (name) VALUES ($1) RETURNING id::text", body.name
        )
        await conn.executemany(
            """
            INSERT INTO stages (pipeline_id, name, type, position, lead_score_min, lead_score_max)
            VALUES ($1::uuid, $2, $3, $4, $5, $6)
            """,
            [
                (pipeline_id, s.name, s.type, i, s.lead_score_min, s.lead_score_max)
                for i, s in enumerate(body.stages)
            ],
        )
    return pipeline_id


async def get_pipeline(
    conn: asyncpg.Connection | asyncpg.Pool, pipeline_id: UUID | str
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT id::text, name, created_at FROM pipelines WHERE id = $1::uuid", str(pipeline_id)
    )
    if row is None:
        return None
    stages = await conn.fetch(
        """
        SELECT id::text, name, type, position, lead_score_min, lead_score_max
        FROM stages WHERE pipeline_id = $1::uuid ORDER BY position
        """,
        str(pipeline_id),
    )
    return {**dict(row), "stages": [dict(s) for s in stages]}


async def apply_auto_ranges(conn: asyncpg.Connection, pipeline_id: UUID | str) -> bool:
    """Overwrite every stage's range with §7.2's; False when the pipeline does not exist."""
    async with conn.transaction():
        if not await conn.fetchval(
            "SELECT true FROM pipelines WHERE id = $1::uuid FOR UPDATE", str(pipeline_id)
        ):
            return False
        stages = await conn.fetch(
            "SELECT id, type FROM stages WHERE pipeline_id = $1::uuid ORDER BY position",
            str(pipeline_id),
        )
        try:
            ranges = auto_ranges([s["type"] for s in stages])
        except ValueError as err:
            raise Invalid(f"stages: {err}", field="stages") from None
        await conn.executemany(
            "UPDATE stages SET lead_score_min = $2, lead_score_max = $3 WHERE id = $1",
            [(s["id"], lo, hi) for s, (lo, hi) in zip(stages, ranges, strict=True)],
        )
    return True


async def create(request: Request) -> Response:
    body = await parse_body(request, PipelineIn)
    async with deps_of(request).pool.acquire() as conn:
        pipeline_id = await insert_pipeline(conn, body)
        return ApiResponse(await get_pipeline(conn, pipeline_id), status_code=201)


async def index(request: Request) -> Response:
    rows = await deps_of(request).pool.fetch(
        """
        SELECT p.id::text, p.name, p.created_at, count(s.id) AS stage_count
        FROM pipelines p LEFT JOIN stages s ON s.pipeline_id = p.id
        GROUP BY p.id ORDER BY p.created_at, p.id
        """
    )
    return ApiResponse({"items": [dict(r) for r in rows]})


async def show(request: Request) -> Response:
    pipeline_id = parse_uuid(request.path_params["pipeline_id"], "pipeline")
    return ApiResponse(found(await get_pipeline(deps_of(request).pool, pipeline_id), "pipeline", pipeline_id))


async def score_ranges(request: Request) -> Response:
    pipeline_id = parse_uuid(request.path_params["pipeline_id"], "pipeline")
    async with deps_of(request).pool.acquire() as conn:
        if not await apply_auto_ranges(conn, pipeline_id):
            raise not_found("pipeline", str(pipeline_id))
        return ApiResponse(await get_pipeline(conn, pipeline_id))


routes: list[ApiRoute] = [
    ApiRoute(
        "/pipelines",
        create,
        "POST",
        Operation(
            "Create a pipeline with its stages",
            ((201, "Pipeline"),),
            body=PipelineIn,
            description="Stage names must differ (case-insensitively) and each stage's "
            "lead_score_max must be at least its lead_score_min.",
        ),
    ),
    ApiRoute("/pipelines", index, "GET", Operation("List pipelines", ((200, "PipelineList"),))),
    ApiRoute(
        "/pipelines/{pipeline_id}",
        show,
        "GET",
        Operation("A pipeline and its stages", ((200, "Pipeline"),), path_schemas=PIPELINE_ID),
    ),
    ApiRoute(
        "/pipelines/{pipeline_id}/score-ranges",
        score_ranges,
        "POST",
        Operation(
            "Give every stage its automatic score range (DESIGN 7.2)",
            ((200, "Pipeline"),),
            path_schemas=PIPELINE_ID,
        ),
    ),
]
