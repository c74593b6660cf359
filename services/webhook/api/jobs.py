"""Admin API routes for jobs: start a backfill or a rescore, read, cancel and retry (DESIGN §3, §7.7)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from services.webhook.api.errors import ApiError, not_found, parse_body, parse_query
from services.webhook.api.spec import JOB_ID, PAGE_ID, ApiRoute, Operation
from services.webhook.boundary import Id, QueryInt, never_null
from services.webhook.deps import deps_of
from shared import job_admin
from shared.errors import BrokerUnavailable
from shared.messages import BackfillRequested
from shared.vocabulary import TERMINAL_JOB_STATUSES, ItemOutcome, JobKind, JobStatus

log = structlog.get_logger("leadsync.webhook.api")

# `platform:contact id` of the last item of a page: every such string is a valid position.
ITEM_CURSOR_PATTERN = r"^(messenger|instagram):[^\x00-\x1f\x7f]+$"


class BackfillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page_id: Id
    mode: Literal["full", "incremental"] = "full"


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: QueryInt = Field(default=50, ge=1, le=500)


class ItemsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=never_null("outcome", "cursor"))

    outcome: ItemOutcome | None = Field(default=None, description="only these items")
    limit: QueryInt = Field(default=100, ge=1, le=1000)
    cursor: Annotated[str, Field(pattern=ITEM_CURSOR_PATTERN, max_length=600)] | None = Field(
        default=None, description="next_cursor of the previous page"
    )


class RescoreBody(BaseModel):
    """Replay the page's stored transcripts; a dry run reports the stage moves and makes none."""

    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(description="true: only report what would move (jobs.result)")
    # Which versions exist only the analyzer knows: an unknown one fails the job with its reason.
    prompt_version: Id | None = Field(
        default=None, description="score with this prompt version (the analyzer's current one when absent)"
    )

    def params(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "prompt_version": self.prompt_version}


async def _announce(request: Request, job_id: str) -> None:
    """Tell the workers; if RabbitMQ is down the scheduler hands the PENDING job out later."""
    try:
        await deps_of(request).publisher.publish(BackfillRequested(job_id=job_id))
    except BrokerUnavailable as err:
        log.warning("job.announce_failed", job_id=job_id, error=str(err))


async def _start(
    request: Request,
    page_id: str,
    kind: JobKind,
    retry_of: str | None = None,
    params: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], bool]:
    pool = deps_of(request).pool
    async with pool.acquire() as conn:
        job, created = await job_admin.create(conn, page_id, kind, retry_of=retry_of, params=params)
    if created:
        await _announce(request, job["id"])
    return job, created


async def start_backfill(request: Request) -> JSONResponse:
    body = await parse_body(request, BackfillBody)
    pool = deps_of(request).pool
    page = await pool.fetchrow(
        "SELECT access_token_enc IS NOT NULL AND token_status = 'ok' AS usable FROM pages WHERE id = $1",
        body.page_id,
    )
    if page is None:
        raise not_found("page", body.page_id)
    if not page["usable"]:
        raise ApiError(
            409,
            f"page {body.page_id!r} needs a valid access token first "
            "(PATCH /api/pages/{id} with access_token)",
            field="page_id",
        )
    kind = JobKind.FULL if body.mode == "full" else JobKind.INCREMENTAL
    job, created = await _start(request, body.page_id, kind)
    return JSONResponse({"job_id": job["id"], **job}, status_code=202 if created else 200)


async def start_rescore(request: Request) -> JSONResponse:
    page_id = request.path_params["page_id"]
    body = await parse_body(request, RescoreBody)
    pool = deps_of(request).pool
    if await pool.fetchval("SELECT 1 FROM pages WHERE id = $1", page_id) is None:
        raise not_found("page", page_id)
    job, created = await _start(request, page_id, JobKind.RESCORE, params=body.params())
    if not created and (job["kind"], job["params"]) != (JobKind.RESCORE, body.params()):
        raise ApiError(
            409,
            f"page {page_id!r} already has an active {job['kind']} job; rescore when it has ended",
            active_job_id=job["id"],
        )
    return JSONResponse({"job_id": job["id"], **job}, status_code=202 if created else 200)


async def get_job(request: Request) -> JSONResponse:
    job_id = request.path_params["job_id"]
    job = await job_admin.get(deps_of(request).pool, job_id)
    if job is None:
        raise not_found("job", job_id)
    return JSONResponse(job)


async def page_jobs(request: Request) -> JSONResponse:
    page_id = request.path_params["page_id"]
    pool = deps_of(request).pool
    if await pool.fetchval("SELECT 1 FROM pages WHERE id = $1", page_id) is None:
        raise not_found("page", page_id)
    query = parse_query(request, HistoryQuery)
    return JSONResponse({"jobs": await job_admin.of_page(pool, page_id, limit=query.limit)})


async def job_items(request: Request) -> JSONResponse:
    """Every settled item of a job (all errors are here, not only the first 100 of `errors`)."""
    job_id = request.path_params["job_id"]
    query = parse_query(request, ItemsQuery)
    pool = deps_of(request).pool
    if await job_admin.get(pool, job_id) is None:
        raise not_found("job", job_id)
    after = job_admin.decode_item_cursor(query.cursor) if query.cursor else None
    items, next_after = await job_admin.items(
        pool, job_id, outcome=query.outcome, after=after, limit=query.limit
    )
    cursor = job_admin.encode_item_cursor(next_after) if next_after else None
    return JSONResponse({"items": items, "next_cursor": cursor})


async def cancel_job(request: Request) -> JSONResponse:
    job_id = request.path_params["job_id"]
    pool = deps_of(request).pool
    job = await job_admin.get(pool, job_id)
    if job is None:
        raise not_found("job", job_id)
    await job_admin.cancel(pool, job_id)
    job = await job_admin.get(pool, job_id)
    assert job is not None
    if job["status"] != JobStatus.CANCELLED:
        raise ApiError(
            409,
            f"job is already {job['status']}; only PENDING or IN_PROGRESS jobs can be cancelled",
            job_status=job["status"],
        )
    return JSONResponse(job)


async def retry_job(request: Request) -> JSONResponse:
    job_id = request.path_params["job_id"]
    job = await job_admin.get(deps_of(request).pool, job_id)
    if job is None:
        raise not_found("job", job_id)
    if job["status"] not in TERMINAL_JOB_STATUSES:
        raise ApiError(
            409, f"job is still {job['status']}; retry it once it has ended", job_status=job["status"]
        )
    if job["kind"] == JobKind.RESCORE:
        raise ApiError(
            409, "a RESCORE job is not retried: start another rescore of the page", job_status=job["status"]
        )
    if job["failed_contacts"] == 0:
        raise ApiError(409, "job has no failed items to retry", job_status=job["status"])
    retry, created = await _start(request, job["page_id"], JobKind.RETRY, retry_of=job_id)
    if not created:
        raise ApiError(
            409,
            f"page {job['page_id']!r} already has an active job; retry when it has ended",
            active_job_id=retry["id"],
        )
    return JSONResponse({"job_id": retry["id"], **retry}, status_code=202)


# A start answers 202 with the job it started, or 200 with the one already running instead.
STARTED_OR_RUNNING = ((202, "JobStarted"), (200, "JobStarted"))

routes: list[ApiRoute] = [
    ApiRoute(
        "/backfill",
        start_backfill,
        "POST",
        Operation(
            "Start a backfill of a page (or get its active job)",
            STARTED_OR_RUNNING,
            body=BackfillBody,
            errors=(404, 409),
            description="202 with a new job; 200 with the page's active job when it has one; 409 "
            "when the page needs a valid access token first.",
        ),
    ),
    ApiRoute(
        "/jobs/{job_id}",
        get_job,
        "GET",
        Operation("A job with its progress", ((200, "Job"),), path_schemas=JOB_ID),
    ),
    ApiRoute(
        "/jobs/{job_id}/items",
        job_items,
        "GET",
        Operation(
            "The job's settled items, FAILED ones with their error, in pages",
            ((200, "JobItemList"),),
            query=ItemsQuery,
            path_schemas=JOB_ID,
        ),
    ),
    ApiRoute(
        "/jobs/{job_id}/cancel",
        cancel_job,
        "POST",
        Operation("Cancel a PENDING or IN_PROGRESS job", ((200, "Job"),), errors=(409,), path_schemas=JOB_ID),
    ),
    ApiRoute(
        "/jobs/{job_id}/retry",
        retry_job,
        "POST",
        Operation(
            "A RETRY job over the failed items of an ended job",
            ((202, "JobStarted"),),
            errors=(409,),
            path_schemas=JOB_ID,
        ),
    ),
    ApiRoute(
        "/pages/{page_id}/jobs",
        page_jobs,
        "GET",
        Operation(
            "A page's jobs, newest first", ((200, "JobList"),), query=HistoryQuery, path_schemas=PAGE_ID
        ),
    ),
    ApiRoute(
        "/pages/{page_id}/rescore",
        start_rescore,
        "POST",
        Operation(
            "Re-score the page's stored transcripts (a RESCORE job)",
            STARTED_OR_RUNNING,
            body=RescoreBody,
            errors=(409,),
            path_schemas=PAGE_ID,
            description="202 with a new RESCORE job; 200 with the same rescore when it is already "
            "running; 409 when the page has another active job. A dry run changes no "
            "contact: its `result` lists the stage moves the real run would make.",
        ),
    ),
]
