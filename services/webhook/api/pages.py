"""Admin API for pages: create with an encrypted access token, list, get and patch (never the token)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from starlette.requests import Request
from starlette.responses import Response

from services.webhook.api.encoding import ApiResponse
from services.webhook.api.errors import ApiError, not_found, parse_body
from services.webhook.api.spec import PAGE_ID, ApiRoute, Operation
from services.webhook.boundary import INTEGRAL, Id, Name, Token, never_null
from services.webhook.deps import deps_of
from shared.crypto import TokenCipher
from shared.errors import Conflict, NotFound, StoreError
from shared.logging import add_secrets
from shared.vocabulary import HealthStatus, PipelineMode

MAX_INTERVAL = 30 * 86400
Interval = Annotated[int, Field(ge=60, le=MAX_INTERVAL), INTEGRAL]

# Everything a client may see of a page: the token only as has_token and token_status.
COLUMNS = """id, name, instagram_account_id, auto_pipeline_id::text, auto_pipeline_mode, auto_sync,
    sync_interval_s, last_synced_at, token_status, access_token_enc IS NOT NULL AS has_token,
    health_status, health_checked_at, connected_by, created_at, updated_at"""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageCreate(_Body):
    id: Id = Field(description="the Facebook Page id")
    name: Name
    access_token: Token = Field(description="page access token; stored encrypted, never returned")
    instagram_account_id: Id | None = None
    auto_pipeline_id: UUID | None = None
    auto_pipeline_mode: PipelineMode = PipelineMode.SKIP_EXISTING
    auto_sync: bool = True
    sync_interval_s: Interval = Field(default=3600, description="seconds between automatic incremental syncs")


class PageUpdate(_Body):
    """Only the fields sent change; auto_pipeline_id and instagram_account_id may be null."""

    # Omitted means unchanged; only the two nullable ones may be sent as null.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=never_null(
            "name", "access_token", "auto_pipeline_mode", "auto_sync", "sync_interval_s"
        ),
    )

    name: Name | None = None
    access_token: Token | None = None
    instagram_account_id: Id | None = None
    auto_pipeline_id: UUID | None = None
    auto_pipeline_mode: PipelineMode | None = None
    auto_sync: bool | None = None
    sync_interval_s: Interval | None = None

    @field_validator(
        "name", "access_token", "auto_pipeline_mode", "auto_sync", "sync_interval_s", mode="before"
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


def _cipher(request: Request) -> TokenCipher:
    cipher: TokenCipher | None = deps_of(request).cipher
    if cipher is None:
        raise ApiError(
            503,
            "TOKEN_ENCRYPTION_KEY is not set: set it to a Fernet key on the webhook "
            "service to store page access tokens",
        )
    return cipher


def _encrypt(request: Request, token: SecretStr) -> bytes:
    value = token.get_secret_value()
    add_secrets([value])  # from now on this process masks it in every log line
    return _cipher(request).encrypt(value)


async def get_page(conn: asyncpg.Connection | asyncpg.Pool, page_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM pages WHERE id = $1", page_id)  # noqa: S608 - constant SQL
    return dict(row) if row else None


async def list_pages(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(f"SELECT {COLUMNS} FROM pages ORDER BY id")]  # noqa: S608 - constant SQL


async def insert_page(
    conn: asyncpg.Connection | asyncpg.Pool, page: PageCreate, token_enc: bytes
) -> dict[str, Any]:
    """Insert a page; Conflict when the id or Instagram account is taken, NotFound for no such pipeline."""
    try:
        row = await conn.fetchrow(
            f"""
            INSERT INTO pages (id, name, access_token_enc, instagram_account_id, auto_pipeline_id,
                               auto_pipeline_mode, auto_sync, sync_interval_s)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (id) DO NOTHING
            RETURNING {COLUMNS}
            """,  # noqa: S608 - constant SQL
            page.id,
            page.name,
            token_enc,
            page.instagram_account_id,
            page.auto_pipeline_id,
            page.auto_pipeline_mode,
            page.auto_sync,
            page.sync_interval_s,
        )
    except (asyncpg.ForeignKeyViolationError, asyncpg.UniqueViolationError) as err:
        raise _conflict(err) from None
    if row is None:
        raise Conflict(f"page {page.id!r} already exists; PATCH /api/pages/{page.id} changes it", field="id")
    return dict(row)


def _conflict(err: asyncpg.PostgresError) -> StoreError:
    if isinstance(err, asyncpg.ForeignKeyViolationError):
        # Well-formed, but names nothing: like an unknown id in a path.
        return NotFound("auto_pipeline_id: no pipeline with this id", field="auto_pipeline_id")
    return Conflict("instagram_account_id: already linked to another page", field="instagram_account_id")


async def update_page(
    conn: asyncpg.Connection | asyncpg.Pool, page_id: str, changes: dict[str, Any]
) -> dict[str, Any] | None:
    """Apply the given column values; None when the page does not exist."""
    if not changes:
        return await get_page(conn, page_id)
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=2))
    try:
        row = await conn.fetchrow(
            f"UPDATE pages SET {sets}, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}",  # noqa: S608 - constant SQL
            page_id,
            *changes.values(),
        )
    except (asyncpg.ForeignKeyViolationError, asyncpg.UniqueViolationError) as err:
        raise _conflict(err) from None
    return dict(row) if row else None


async def create(request: Request) -> Response:
    body = await parse_body(request, PageCreate)
    token_enc = _encrypt(request, body.access_token)
    page = await insert_page(deps_of(request).pool, body, token_enc)
    return ApiResponse(page, status_code=201)


async def index(request: Request) -> Response:
    return ApiResponse({"items": await list_pages(deps_of(request).pool)})


async def show(request: Request) -> Response:
    page_id = request.path_params["page_id"]
    page = await get_page(deps_of(request).pool, page_id)
    if page is None:
        raise not_found("page", page_id)
    return ApiResponse(page)


async def patch(request: Request) -> Response:
    page_id = request.path_params["page_id"]
    body = await parse_body(request, PageUpdate)
    # Column names come from the model's own fields, never from the request.
    changes = {name: getattr(body, name) for name in body.model_fields_set if name != "access_token"}
    if "access_token" in body.model_fields_set and body.access_token is not None:
        changes["access_token_enc"] = _encrypt(request, body.access_token)
        changes["token_status"] = "ok"  # noqa: S105 - a new token clears an expired one
        changes["health_status"] = HealthStatus.OK
    page = await update_page(deps_of(request).pool, page_id, changes)
    if page is None:
        raise not_found("page", page_id)
    return ApiResponse(page)


routes: list[ApiRoute] = [
    ApiRoute(
        "/pages",
        create,
        "POST",
        Operation(
            "Add a page (its access token is stored encrypted)",
            ((201, "Page"),),
            body=PageCreate,
            errors=(404, 409, 503),
        ),
    ),
    ApiRoute("/pages", index, "GET", Operation("List pages", ((200, "PageList"),))),
    ApiRoute(
        "/pages/{page_id}",
        show,
        "GET",
        Operation("One page (never its token)", ((200, "Page"),), path_schemas=PAGE_ID),
    ),
    ApiRoute(
        "/pages/{page_id}",
        patch,
        "PATCH",
        Operation(
            "Change a page's settings or replace its token",
            ((200, "Page"),),
            body=PageUpdate,
            errors=(409, 503),
            path_schemas=PAGE_ID,
        ),
    ),
]
