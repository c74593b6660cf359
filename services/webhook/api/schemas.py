"""Response shapes of the admin API for its OpenAPI document (request shapes are the models)."""

from __future__ import annotations

from typing import Any

from shared.vocabulary import HealthStatus, ItemOutcome, JobKind, JobStatus, PipelineMode, StageType, values

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
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "field": {"type": "string"},
            "request_id": {"type": "string"},
        },
    },
    "Page": _object(
        id={"type": "string"},
        name={"type": "string"},
        instagram_account_id=TEXT_OR_NULL,
        auto_pipeline_id=UUID_OR_NULL,
        auto_pipeline_mode={"enum": values(PipelineMode)},
        auto_sync={"type": "boolean"},
        sync_interval_s={"type": "integer"},
        last_synced_at=TS,
        token_status={"enum": ["ok", "expired"]},
        has_token={"type": "boolean"},
        created_at=TS,
        updated_at=TS,
    ),
    "Stage": _object(
        id={"type": "string", "format": "uuid"},
        name={"type": "string"},
        type={"enum": values(StageType)},
        position={"type": "integer"},
        lead_score_min={"type": "integer"},
        lead_score_max={"type": "integer"},
    ),
    "Pipeline": _object(
        id={"type": "string", "format": "uuid"},
        name={"type": "string"},
        created_at=TS,
        stages={"type": "array", "items": _ref("Stage")},
    ),
    "PipelineSummary": _object(
        id={"type": "string", "format": "uuid"},
        name={"type": "string"},
        created_at=TS,
        stage_count={"type": "integer"},
    ),
    "Contact": _object(
        id={"type": "string", "format": "uuid"},
        page_id={"type": "string"},
        platform={"enum": ["messenger", "instagram"]},
        external_id={"type": "string"},
        name=TEXT_OR_NULL,
        pipeline_id=UUID_OR_NULL,
        stage_id=UUID_OR_NULL,
        stage_name=TEXT_OR_NULL,
        stage_type=TEXT_OR_NULL,
        lead_score=INT_OR_NULL,
        lead_status=TEXT_OR_NULL,
        stage_entered_at=TS,
        last_message_at=TS,
        analyzed_through=TS,
        ai_summary=TEXT_OR_NULL,
        ai_reasoning=TEXT_OR_NULL,
        ai_confidence=INT_OR_NULL,
        used_fallback={"type": ["boolean", "null"]},
        created_at=TS,
        updated_at=TS,
    ),
    "Activity": _object(
        id={"type": "integer"},
        type={"type": "string", "examples": ["STAGE_CHANGED"]},
        from_stage_id=UUID_OR_NULL,
        from_stage=TEXT_OR_NULL,
        to_stage_id=UUID_OR_NULL,
        to_stage=TEXT_OR_NULL,
        lead_score=INT_OR_NULL,
        details={
            "type": "object",
            "description": "from, to, score, status, rule, mode, "
            "downgrade_blocked (and blocked, target_stage_id when a move was refused)",
        },
        created_at=TS,
    ),
}
RESPONSES["ContactWithActivities"] = {
    "allOf": [_ref("Contact"), _object(activities={"type": "array", "items": _ref("Activity")})],
}
RESPONSES["PageList"] = _items("Page")
RESPONSES["PipelineList"] = _items("PipelineSummary")
RESPONSES["ContactList"] = _items(
    "Contact",
    next_cursor={
        "type": ["string", "null"],
        "description": "pass as `cursor` for the next page; null at the end",
    },
)


NUM_OR_NULL = {"type": ["number", "null"]}
JOB_STATUS = {"enum": values(JobStatus)}
ITEM_ERROR = _object(platform={"type": "string"}, id={"type": "string"}, error={"type": "string"})
ITEM_ERROR["required"] = ["platform", "id", "error"]
ITEM_ERROR["properties"]["code"] = INT_OR_NULL
MOVES = ("into_won", "into_lost", "up", "down", "blocked", "unchanged")
RESCORE_RESULT = {
    "type": ["object", "null"],
    "description": "a finished RESCORE job's stage moves (what a dry run would make)",
    "properties": {
        "moves": _object(**{m: {"type": "integer"} for m in MOVES}),
        "examples": {
            "type": "array",
            "description": "the first 20 moved contacts",
            "items": {
                "type": "object",
                "description": "contact_id, name, platform, external_id, from, to, "
                "move, reason, score_before, score_after, status_before, status_after",
            },
        },
    },
}
RESPONSES["Job"] = _object(
    id={"type": "string", "format": "uuid"},
    page_id={"type": "string"},
    kind={"type": "string", "examples": values(JobKind)},
    status=JOB_STATUS,
    total_contacts=INT_OR_NULL,
    synced_contacts={"type": "integer"},
    failed_contacts={"type": "integer"},
    token_expired={"type": "boolean"},
    errors={
        "type": "array",
        "items": ITEM_ERROR,
        "description": "the first 100 item errors; all of them: GET /api/jobs/{id}/items",
    },
    errors_count={"type": "integer", "description": "how many item errors there are in all"},
    error=TEXT_OR_NULL,
    enumeration_done={"type": ["boolean", "null"]},
    retry_of=UUID_OR_NULL,
    heartbeat_at=TS,
    started_at=TS,
    completed_at=TS,
    created_at=TS,
    updated_at=TS,
    percent=NUM_OR_NULL,
    items_per_s=NUM_OR_NULL,
    eta_s=NUM_OR_NULL,
    age_s=NUM_OR_NULL,
    params={"type": ["object", "null"], "description": "a RESCORE job's {dry_run, prompt_version}"},
    result=RESCORE_RESULT,
)
RESPONSES["JobStarted"] = {"allOf": [_ref("Job"), _object(job_id={"type": "string", "format": "uuid"})]}
RESPONSES["JobList"] = _object(jobs={"type": "array", "items": _ref("Job")})
RESPONSES["JobItem"] = _object(
    platform={"enum": ["messenger", "instagram"]},
    contact_external_id={"type": "string"},
    outcome={"enum": values(ItemOutcome)},
    error=TEXT_OR_NULL,
)
RESPONSES["JobItemList"] = _items(
    "JobItem",
    next_cursor={
        "type": ["string", "null"],
        "description": "pass as `cursor` for the next page; null at the end",
    },
)
RESPONSES["OpenApi"] = {"type": "object", "required": ["openapi", "paths"]}

RESPONSES["Signal"] = _object(
    signal={"type": "string"},
    points={"type": "integer"},
    mids={"type": "array", "items": {"type": "string"}, "description": "the messages that fired it"},
)
RESPONSES["Score"] = _object(
    id={"type": "integer"},
    analyzed_through=TS,
    lead_score={"type": "integer"},
    lead_status={"enum": ["NEW", "CONTACTED", "QUALIFIED", "WON", "LOST"]},
    recommended_stage={"type": "string"},
    confidence=INT_OR_NULL,
    summary={"type": "string"},
    reasoning={"type": "string"},
    signals={"type": "array", "items": _ref("Signal")},
    evidence={
        "type": "array",
        "items": {"type": "string"},
        "description": "mids of stored messages that moved the analysis",
    },
    model={"type": "string"},
    prompt_version={"type": "string"},
    used_fallback={"type": "boolean"},
    shadow={"type": "boolean", "description": "a shadow candidate's analysis; never placed"},
    job_id=UUID_OR_NULL,
    created_at=TS,
)
RESPONSES["ScoreList"] = _items("Score")
RESPONSES["CalibrationBand"] = _object(
    band={"type": "string", "examples": ["71-80"]},
    score_min={"type": "integer"},
    score_max={"type": "integer"},
    contacts={"type": "integer", "description": "contacts scored in the band before their outcome"},
    won={"type": "integer"},
    lost={"type": "integer"},
    open={"type": "integer"},
    win_rate={"type": ["number", "null"], "description": "won / contacts; null without contacts"},
)
RESPONSES["Calibration"] = _object(
    pipeline_id={"type": "string", "format": "uuid"},
    bands={"type": "array", "items": _ref("CalibrationBand")},
)

HEALTH_STATUS = {"enum": values(HealthStatus)}
STRINGS = {"type": "array", "items": {"type": "string"}}
RESPONSES["PageHealth"] = {
    "type": "object",
    "required": ["status", "checked_at", "token", "subscription", "resubscribed"],
    "properties": {
        "status": HEALTH_STATUS,
        "checked_at": TS,
        "reason": TEXT_OR_NULL,
        "token": {
            "type": "object",
            "description": "valid, expires_at, data_access_expires_at, "
            "scopes, missing_scopes (and error when Meta refuses it)",
        },
        "subscription": {"type": "object", "description": "subscribed, fields, missing_fields"},
        "resubscribed": {"type": "boolean", "description": "the check restored a dropped subscription"},
    },
}
RESPONSES["DiscoveredPage"] = _object(
    id={"type": "string"},
    name={"type": "string"},
    instagram_account_id=TEXT_OR_NULL,
    instagram_username=TEXT_OR_NULL,
    connected={"type": "boolean"},
    health_status={"type": ["string", "null"]},
)
RESPONSES["Discovered"] = _object(
    user=_object(id={"type": "string"}, name={"type": "string"}),
    pages={"type": "array", "items": _ref("DiscoveredPage")},
)
RESPONSES["AppSubscription"] = _object(
    callback_url={"type": "string"},
    complete={"type": "boolean"},
    changed=STRINGS,
    objects={
        "type": "object",
        "description": "per object (page, instagram): subscribed, "
        "callback_url, callback_ok, fields, missing_fields",
    },
)
RESPONSES["Connected"] = _object(
    connected=STRINGS,
    failed={"type": "array", "items": _object(id={"type": "string"}, error={"type": "string"})},
    jobs={
        "type": "object",
        "description": "page id -> its first backfill's job id",
        "additionalProperties": {"type": "string"},
    },
    app_subscription={"anyOf": [{"type": "null"}, _ref("AppSubscription")]},
)
RESPONSES["Disconnected"] = _object(
    id={"type": "string"},
    unsubscribed={"type": "boolean"},
    forgotten={"type": "boolean"},
    contacts_deleted={"type": "integer"},
)
RESPONSES["Page"]["properties"].update(
    health_status=HEALTH_STATUS,
    health_checked_at=TS,
    connected_by={"type": ["object", "null"], "description": "{id, name} of the Facebook user"},
)
RESPONSES["Page"]["required"] += ["health_status", "health_checked_at", "connected_by"]
