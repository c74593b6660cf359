"""Admin API routes for jobs: start a backfill or a rescore, read, cancel and retry (DESIGN §3, §7.7)."""

from __future__ import annotations

from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from services.webhook.api.errors import ApiError, not_found, parse_body
from shared import job_records
from shared.errors import BrokerUnavailable, PublishNotConfirmed
from shared.messages import BackfillRequested

log = structlog.get_logger("leadsync.webhook.api")

TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


class BackfillBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page_id: str = Field(min_length=1, max_length=200)
    mode: Literal["full", "incremental"] = "full"


class RescoreBody(BaseModel):
    """Replay the page's stored transcripts; a dry run reports the stage moves and makes none."""

    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(description="true: only report what would move (jobs.result)")
    prompt_version: str | None = Field(
        default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$",
        description="score with this prompt version (the analyzer's current one when absent)")

    def params(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "prompt_version": self.prompt_version}


async def _announce(request: Request, job_id: str) -> None:
    """Tell the workers; if RabbitMQ is down the scheduler hands the PENDING job out later."""
    try:
        await request.app.state.deps.publisher.publish(BackfillRequested(job_id=job_id))
    except (BrokerUnavailable, PublishNotConfirmed) as err:
        log.warning("job.announce_failed", job_id=job_id, error=str(err))


async def _start(request: Request, page_id: str, kind: job_records.Kind,
                 retry_of: str | None = None, params: dict[str, Any] | None = None,
                 ) -> tuple[dict[str, Any], bool]:
    pool = request.app.state.deps.pool
    async with pool.acquire() as conn:
        job, created = await job_records.create(conn, page_id, kind, retry_of=retry_of, params=params)
    if created:
        await _announce(request, job["id"])
    return job, created


async def start_backfill(request: Request) -> JSONResponse:
    body = await parse_body(request, BackfillBody)
    pool = request.app.state.deps.pool
    page = await pool.fetchrow(
        "SELECT access_token_enc IS NOT NULL AND token_status = 'ok' AS usable FROM pages WHERE id = $1",
        body.page_id,
    )
    if page is None:
        raise not_found("page", body.page_id)
    if not page["usable"]:
        raise ApiError(409, f"page {body.page_id!r} needs a valid access token first "
                            "(PATCH /api/pages/{id} with access_token)", field="page_id")
    job, created = await _start(request, body.page_id, "FULL" if body.mode == "full" else "INCREMENTAL")
    return JSONResponse({"job_id": job["id"], **job}, status_code=202 if created else 200)


async def start_rescore(request: Request) -> JSONResponse:
    page_id = request.path_params["page_id"]
    body = await parse_body(request, RescoreBody)
    pool = request.app.state.deps.pool
    if await pool.fetchval("SELECT 1 FROM pages WHERE id = $1", page_id) is None:
        raise not_found("page", page_id)
    job, created = await _start(request, page_id, "RESCORE", params=body.params())
    if not created and (job["kind"], job["params"]) != ("RESCORE", body.params()):
        raise ApiError(409, f"page {page_id!r} already has an active {job['kind']} job; rescore "
                            "when it has ended", active_job_id=job["id"])
    return JSONResponse({"job_id": job["id"], **job}, status_code=202 if created else 200)


async def get_job(request: Request) -> JSONResponse:
    job_id = request.path_params["job_id"]
    job = await job_records.get(request.app.state.deps.pool, job_id)
    if job is None:
        raise not_found("job", job_id)
    return JSONResponse(job)


async def page_jobs(request: Request) -> JSONResponse:
    page_id = request.path_params["page_id"]
    pool = request.app.state.deps.pool
    if await pool.fetchval("SELECT 1 FROM pages WHERE id = $1", page_id) is None:
        raise not_found("page", page_id)
    raw = request.query_params.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise ApiError(422, "limit: must be a whole number from 1 to 500", field="limit")
    return JSONResponse({"jobs": await job_records.of_page(pool, page_id, limit=int(raw))})


async def cancel_job(request: Request) -> JSONResponse:
    job_id = request.path_params["job_id"]
    pool = request.app.state.deps.pool
    job = await job_records.get(pool, job_id)
    if job is None:
        raise not_found("job", job_id)
    await job_records.cancel(pool, job_id)
    job = await job_records.get(pool, job_id)
    assert job is not None
    if job["status"] != "CANCELLED":
        raise ApiError(409, f"job is already {job['status']}; only PENDING or IN_PROGRESS jobs "
                            "can be cancelled", job_status=job["status"])
    return JSONResponse(job)


async def retry_job(request: Request) -> JSONResponse:
    job_id = request.path_params["job_id"]
    job = await job_records.get(request.app.state.deps.pool, job_id)
    if job is None:
        raise not_found("job", job_id)
    if job["status"] not in TERMINAL:
        raise ApiError(409, f"job is still {job['status']}; retry it once it has ended",
                       job_status=job["status"])
    if job["kind"] == "RESCORE":
        raise ApiError(409, "a RESCORE job is not retried: start another rescore of the page",
                       job_status=job["status"])
    if job["failed_contacts"] == 0:
        raise ApiError(409, "job has no failed items to retry", job_status=job["status"])
    retry, created = await _start(request, job["page_id"], "RETRY", retry_of=job_id)
    if not created:
        raise ApiError(409, f"page {job['page_id']!r} already has an active job; retry when it "
                            "has ended", active_job_id=retry["id"])
    return JSONResponse({"job_id": retry["id"], **retry}, status_code=202)


routes: list[BaseRoute] = [
    Route("/backfill", start_backfill, methods=["POST"]),
    Route("/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    Route("/jobs/{job_id}/retry", retry_job, methods=["POST"]),
    Route("/pages/{page_id}/jobs", page_jobs, methods=["GET"]),
    Route("/pages/{page_id}/rescore", start_rescore, methods=["POST"]),
]
