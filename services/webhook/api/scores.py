"""Admin API for scores: a contact's score ledger and a pipeline's calibration (do scores predict?)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from services.webhook.api.encoding import ApiResponse
from services.webhook.api.errors import not_found, parse_query
from services.webhook.api.pipelines import parse_uuid
from services.webhook.api.spec import CONTACT_ID, PIPELINE_ID, ApiRoute, Operation
from services.webhook.boundary import QueryInt
from services.webhook.deps import deps_of
from shared.vocabulary import StageType

MAX_LIMIT = 500
BANDS = 10  # deciles: 1-10, 11-20, …, 91-100

LEDGER_COLUMNS = """s.id, s.analyzed_through, s.lead_score, s.lead_status, s.recommended_stage,
    s.confidence, s.summary, s.reasoning, s.signals, s.evidence, s.model, s.prompt_version,
    s.used_fallback, s.shadow, s.job_id::text, s.created_at"""


class ScoresQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: QueryInt = Field(default=100, ge=1, le=MAX_LIMIT)
    include_shadow: bool = Field(default=False, description="also the shadow candidate's rows")


async def ledger(
    conn: asyncpg.Connection | asyncpg.Pool,
    contact_id: UUID | str,
    *,
    limit: int = 100,
    include_shadow: bool = False,
) -> list[dict[str, Any]]:
    """A contact's analyses, newest first (by the transcript time they cover, then by arrival)."""
    rows = await conn.fetch(
        f"""
        SELECT {LEDGER_COLUMNS} FROM scores s
        WHERE s.contact_id = $1::uuid AND ($2 OR NOT s.shadow)
        ORDER BY s.analyzed_through DESC NULLS LAST, s.id DESC
        LIMIT $3
        """,  # noqa: S608 - constant LEDGER_COLUMNS
        str(contact_id),
        include_shadow,
        limit,
    )
    return [dict(r) for r in rows]


async def calibration(
    conn: asyncpg.Connection | asyncpg.Pool, pipeline_id: UUID | str
) -> list[dict[str, Any]]:
    """Per score decile: contacts of the pipeline scored in it before their outcome, and how many
    of them ended in a WON and a LOST stage.

    A contact counts once per band it was scored in; scores from the analysis that made it WON
    or LOST, and after, do not count (they are the outcome, not a prediction of it).
    """
    rows = await conn.fetch(
        """
        WITH c AS (
            SELECT c.id, CASE WHEN s.type IN ($2, $3) THEN s.type ELSE 'OPEN' END AS outcome
            FROM contacts c LEFT JOIN stages s ON s.id = c.stage_id
            WHERE c.pipeline_id = $1::uuid
        ), ends AS (
            SELECT c.id, c.outcome,
                   (SELECT min(sc.id) FROM scores sc WHERE sc.contact_id = c.id AND NOT sc.shadow
                      AND sc.lead_status = c.outcome) AS end_id
            FROM c
        ), bands AS (
            SELECT DISTINCT sc.contact_id, least((sc.lead_score - 1) / 10, 9) AS band, e.outcome
            FROM scores sc JOIN ends e ON e.id = sc.contact_id
            WHERE NOT sc.shadow AND (e.end_id IS NULL OR sc.id < e.end_id)
        )
        SELECT band, count(*) AS contacts, count(*) FILTER (WHERE outcome = $2) AS won,
               count(*) FILTER (WHERE outcome = $3) AS lost
        FROM bands GROUP BY band
        """,
        str(pipeline_id),
        StageType.WON,
        StageType.LOST,
    )
    found = {r["band"]: r for r in rows}
    bands = []
    for band in range(BANDS):
        row = found.get(band)
        contacts, won, lost = (row["contacts"], row["won"], row["lost"]) if row else (0, 0, 0)
        bands.append(
            {
                "band": f"{band * 10 + 1}-{band * 10 + 10}",
                "score_min": band * 10 + 1,
                "score_max": band * 10 + 10,
                "contacts": contacts,
                "won": won,
                "lost": lost,
                "open": contacts - won - lost,
                "win_rate": round(won / contacts, 4) if contacts else None,
            }
        )
    return bands


async def contact_scores(request: Request) -> Response:
    contact_id = parse_uuid(request.path_params["contact_id"], "contact")
    query = parse_query(request, ScoresQuery)
    pool = deps_of(request).pool
    if await pool.fetchval("SELECT 1 FROM contacts WHERE id = $1", contact_id) is None:
        raise not_found("contact", str(contact_id))
    items = await ledger(pool, contact_id, limit=query.limit, include_shadow=query.include_shadow)
    return ApiResponse({"items": items})


async def pipeline_calibration(request: Request) -> Response:
    pipeline_id = parse_uuid(request.path_params["pipeline_id"], "pipeline")
    pool = deps_of(request).pool
    if await pool.fetchval("SELECT 1 FROM pipelines WHERE id = $1", pipeline_id) is None:
        raise not_found("pipeline", str(pipeline_id))
    return ApiResponse({"pipeline_id": str(pipeline_id), "bands": await calibration(pool, pipeline_id)})


routes: list[ApiRoute] = [
    ApiRoute(
        "/contacts/{contact_id}/scores",
        contact_scores,
        "GET",
        Operation(
            "The contact's score ledger: every analysis, newest first",
            ((200, "ScoreList"),),
            query=ScoresQuery,
            path_schemas=CONTACT_ID,
        ),
    ),
    ApiRoute(
        "/pipelines/{pipeline_id}/calibration",
        pipeline_calibration,
        "GET",
        Operation(
            "Per score decile, how many contacts later reached WON and LOST",
            ((200, "Calibration"),),
            path_schemas=PIPELINE_ID,
        ),
    ),
]
