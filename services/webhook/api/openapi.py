"""The OpenAPI 3.1 description of the admin API, served at /api/openapi.json.

Request bodies come from the same pydantic models that validate them; response shapes are
written out here. Other resources (jobs, backfill) add their paths to PATHS in the same form.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.webhook.api.contacts import ContactQuery
from services.webhook.api.encoding import ApiResponse
from services.webhook.api.jobs import RescoreBody
from services.webhook.api.pages import PageCreate, PageUpdate
from services.webhook.api.pipelines import PipelineIn
from services.webhook.api.scores import ScoresQuery

REF = "#/components/schemas/{model}"
TS = {"type": ["string", "null"], "format": "date-time"}
UUID_OR_NULL = {"type": ["string", "null"], "format": "uuid"}
INT_OR_NULL = {"type": ["integer", "null"]}
TEXT_OR_NULL = {"type": ["string", "null"]}


def _object(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props)}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _items(name: str, **extra: Any) -> dict[str, Any]:
    return _object(items={"type": "array", "items": _ref(name)}, **extra)


RESPONSES: dict[str, dict[str, Any]] = {
    "Error": _object(error={"type": "string"}),
    "Page": _object(
        id={"type": "string"}, name={"type": "string"}, instagram_account_id=TEXT_OR_NULL,
        auto_pipeline_id=UUID_OR_NULL,
        auto_pipeline_mode={"enum": ["SKIP_EXISTING", "UPDATE_EXISTING"]},
        auto_sync={"type": "boolean"}, sync_interval_s={"type": "integer"}, last_synced_at=TS,
        token_status={"enum": ["ok", "expired"]}, has_token={"type": "boolean"},
        created_at=TS, updated_at=TS,
    ),
    "Stage": _object(
        id={"type": "string", "format": "uuid"}, name={"type": "string"},
        type={"enum": ["LEAD", "IN_PROGRESS", "WON", "LOST", "ARCHIVED"]},
        position={"type": "integer"}, lead_score_min={"type": "integer"},
        lead_score_max={"type": "integer"},
    ),
    "Pipeline": _object(
        id={"type": "string", "format": "uuid"}, name={"type": "string"}, created_at=TS,
        stages={"type": "array", "items": _ref("Stage")},
    ),
    "PipelineSummary": _object(
        id={"type": "string", "format": "uuid"}, name={"type": "string"}, created_at=TS,
        stage_count={"type": "integer"},
    ),
    "Contact": _object(
        id={"type": "string", "format": "uuid"}, page_id={"type": "string"},
        platform={"enum": ["messenger", "instagram"]}, external_id={"type": "string"},
        name=TEXT_OR_NULL, pipeline_id=UUID_OR_NULL, stage_id=UUID_OR_NULL,
        stage_name=TEXT_OR_NULL, stage_type=TEXT_OR_NULL, lead_score=INT_OR_NULL,
        lead_status=TEXT_OR_NULL, stage_entered_at=TS, last_message_at=TS, analyzed_through=TS,
        ai_summary=TEXT_OR_NULL, ai_reasoning=TEXT_OR_NULL, ai_confidence=INT_OR_NULL,
        used_fallback={"type": ["boolean", "null"]}, created_at=TS, updated_at=TS,
    ),
    "Activity": _object(
        id={"type": "integer"}, type={"type": "string", "examples": ["STAGE_CHANGED"]},
        from_stage_id=UUID_OR_NULL, from_stage=TEXT_OR_NULL, to_stage_id=UUID_OR_NULL,
        to_stage=TEXT_OR_NULL, lead_score=INT_OR_NULL,
        details={"type": "object", "description": "from, to, score, status, rule, mode, "
                 "downgrade_blocked (and blocked, target_stage_id when a move was refused)"},
        created_at=TS,
    ),
}
MOVES = ("into_won", "into_lost", "up", "down", "blocked", "unchanged")
RESPONSES.update({
    "Signal": _object(signal={"type": "string"}, points={"type": "integer"},
                      mids={"type": "array", "items": {"type": "string"},
                            "description": "the messages that fired it"}),
    "Score": _object(
        id={"type": "integer"}, analyzed_through=TS, lead_score={"type": "integer"},
        lead_status={"enum": ["NEW", "CONTACTED", "QUALIFIED", "WON", "LOST"]},
        recommended_stage={"type": "string"}, confidence=INT_OR_NULL, summary={"type": "string"},
        reasoning={"type": "string"}, signals={"type": "array", "items": _ref("Signal")},
        evidence={"type": "array", "items": {"type": "string"},
                  "description": "mids of stored messages that moved the analysis"},
        model={"type": "string"}, prompt_version={"type": "string"},
        used_fallback={"type": "boolean"},
        shadow={"type": "boolean", "description": "a shadow candidate's analysis; never placed"},
        job_id=UUID_OR_NULL, created_at=TS,
    ),
    "CalibrationBand": _object(
        band={"type": "string", "examples": ["71-80"]}, score_min={"type": "integer"},
        score_max={"type": "integer"},
        contacts={"type": "integer", "description": "contacts scored in the band before their outcome"},
        won={"type": "integer"}, lost={"type": "integer"}, open={"type": "integer"},
        win_rate={"type": ["number", "null"], "description": "won / contacts; null without contacts"},
    ),
    "Job": _object(
        job_id={"type": "string", "format": "uuid"}, id={"type": "string", "format": "uuid"},
        page_id={"type": "string"}, kind={"enum": ["FULL", "INCREMENTAL", "RETRY", "RESCORE"]},
        status={"enum": ["PENDING", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED"]},
        total_contacts=INT_OR_NULL, synced_contacts={"type": "integer"},
        failed_contacts={"type": "integer"}, error=TEXT_OR_NULL,
        params={"type": ["object", "null"], "description": "a RESCORE job's {dry_run, prompt_version}"},
        result={"type": ["object", "null"], "description": "a finished RESCORE job's outcome",
                "properties": {
                    "moves": _object(**{m: {"type": "integer"} for m in MOVES}),
                    "examples": {"type": "array", "items": {"type": "object", "description":
                                 "contact_id, name, platform, external_id, from, to, move, reason, "
                                 "score_before, score_after, status_before, status_after"}}}},
        created_at=TS,
    ),
})
RESPONSES["ScoreList"] = _items("Score")
RESPONSES["Calibration"] = _object(pipeline_id={"type": "string", "format": "uuid"},
                                   bands={"type": "array", "items": _ref("CalibrationBand")})
RESPONSES["ContactWithActivities"] = {
    "allOf": [_ref("Contact"),
              _object(activities={"type": "array", "items": _ref("Activity")})],
}
RESPONSES["PageList"] = _items("Page")
RESPONSES["PipelineList"] = _items("PipelineSummary")
RESPONSES["ContactList"] = _items("Contact", next_cursor={
    "type": ["string", "null"], "description": "pass as `cursor` for the next page; null at the end"})


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


def _op(summary: str, ok: tuple[int, str], *, body: type[BaseModel] | None = None,
        errors: tuple[int, ...] = (), params: list[dict[str, Any]] | None = None,
        extra: tuple[tuple[int, str, str], ...] = ()) -> dict[str, Any]:
    reasons = {401: "missing or wrong admin token", 404: "no such resource (also a malformed id)",
               409: "conflicts with an existing resource", 422: "invalid input; `field` names it",
               503: "TOKEN_ENCRYPTION_KEY is not configured"}
    also = {code: _json(name, why) for code, name, why in extra}
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {str(ok[0]): _json(ok[1], "success"),
                      **{str(code): also.get(code) or _json("Error", reasons[code])
                         for code in (401, *errors, *also)}},
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _ref(body.__name__)}}}
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str, fmt: str | None = None) -> dict[str, Any]:
    schema = {"type": "string", **({"format": fmt} if fmt else {})}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    props = model.model_json_schema()["properties"]
    return [{"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in props.items()]


PATHS: dict[str, dict[str, Any]] = {
    "/api/pages": {
        "post": _op("Add a page (its access token is stored encrypted)", (201, "Page"),
                    body=PageCreate, errors=(409, 422, 503)),
        "get": _op("List pages", (200, "PageList")),
    },
    "/api/pages/{page_id}": {
        "parameters": [_path_param("page_id")],
        "get": _op("One page (never its token)", (200, "Page"), errors=(404,)),
        "patch": _op("Change a page's settings or replace its token", (200, "Page"),
                     body=PageUpdate, errors=(404, 409, 422, 503)),
    },
    "/api/pipelines": {
        "post": _op("Create a pipeline with its stages", (201, "Pipeline"), body=PipelineIn,
                    errors=(422,)),
        "get": _op("List pipelines", (200, "PipelineList")),
    },
    "/api/pipelines/{pipeline_id}": {
        "parameters": [_path_param("pipeline_id", "uuid")],
        "get": _op("A pipeline and its stages", (200, "Pipeline"), errors=(404,)),
    },
    "/api/pipelines/{pipeline_id}/score-ranges": {
        "parameters": [_path_param("pipeline_id", "uuid")],
        "post": _op("Give every stage its automatic score range (DESIGN 7.2)", (200, "Pipeline"),
                    errors=(404, 422)),
    },
    "/api/contacts": {
        "get": _op("Contacts, filtered by page and stage, in pages of `limit`",
                   (200, "ContactList"), errors=(422,), params=_query_params(ContactQuery)),
    },
    "/api/contacts/{contact_id}": {
        "parameters": [_path_param("contact_id", "uuid")],
        "get": _op("A contact with its activity log, newest first", (200, "ContactWithActivities"),
                   errors=(404,)),
    },
    "/api/contacts/{contact_id}/scores": {
        "parameters": [_path_param("contact_id", "uuid")],
        "get": _op("The contact's score ledger: every analysis, newest first", (200, "ScoreList"),
                   errors=(404, 422), params=_query_params(ScoresQuery)),
    },
    "/api/pipelines/{pipeline_id}/calibration": {
        "parameters": [_path_param("pipeline_id", "uuid")],
        "get": _op("Per score decile, how many contacts later reached WON and LOST",
                   (200, "Calibration"), errors=(404,)),
    },
    "/api/pages/{page_id}/rescore": {
        "parameters": [_path_param("page_id")],
        "post": _op("Re-score the page's stored transcripts as a RESCORE job (a dry run only "
                    "reports the stage moves in the job's result)", (202, "Job"), body=RescoreBody,
                    errors=(404, 409, 422),
                    extra=((200, "Job", "the page's same rescore is already running"),)),
    },
}


@functools.cache
def document() -> dict[str, Any]:
    schemas: dict[str, Any] = dict(RESPONSES)
    for model in (PageCreate, PageUpdate, PipelineIn, RescoreBody):
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return {
        "openapi": "3.1.0",
        "info": {"title": "leadsync admin API", "version": "1",
                 "description": "Every route needs `Authorization: Bearer <ADMIN_TOKEN>`. Errors "
                                "are JSON `{\"error\": ...}`; a 422 also names the `field`."},
        "paths": PATHS,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"admin": []}],
    }


async def serve(_: Request) -> Response:
    return ApiResponse(document())


routes: list[BaseRoute] = [Route("/openapi.json", serve, methods=["GET"])]
