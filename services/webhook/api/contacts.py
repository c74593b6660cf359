"""Admin API for contacts: a page's contacts by stage with keyset pagination, and one contact's log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from services.webhook.api.encoding import ApiResponse
from services.webhook.api.errors import found, parse_query
from services.webhook.api.pipelines import parse_uuid
from services.webhook.api.spec import CONTACT_ID, ApiRoute, Operation
from services.webhook.boundary import Id, QueryInt, never_null
from services.webhook.deps import deps_of

MAX_ACTIVITIES = 200
MAX_LIMIT = 500

COLUMNS = """c.id::text, c.page_id, c.platform, c.external_id, c.name, c.pipeline_id::text,
    c.stage_id::text, s.name AS stage_name, s.type AS stage_type, c.lead_score, c.lead_status,
    c.stage_entered_at, c.last_message_at, c.analyzed_through, c.ai_summary, c.ai_reasoning,
    c.ai_confidence, c.used_fallback, c.created_at, c.updated_at"""


class ContactQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=never_null("page_id", "stage_id", "cursor"))

    page_id: Id | None = None
    stage_id: UUID | None = None
    limit: QueryInt = Field(default=50, ge=1, le=MAX_LIMIT)
    # The id of the last contact of the previous page: every uuid is a valid position.
    cursor: UUID | None = Field(default=None, description="next_cursor of the previous page")


async def list_contacts(conn: asyncpg.Connection | asyncpg.Pool, query: ContactQuery) -> dict[str, Any]:
    """One page of contacts in id order (stable under inserts), with the cursor of the next."""
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS}
        FROM contacts c LEFT JOIN stages s ON s.id = c.stage_id
        WHERE ($1::text IS NULL OR c.page_id = $1)
          AND ($2::uuid IS NULL OR c.stage_id = $2)
          AND ($3::uuid IS NULL OR c.id > $3)
        ORDER BY c.id
        LIMIT $4
        """,  # noqa: S608 - constant COLUMNS
        query.page_id,
        query.stage_id,
        query.cursor,
        query.limit + 1,
    )
    items = [dict(r) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    return {"items": items, "next_cursor": str(items[-1]["id"]) if more else None}


async def get_contact(conn: asyncpg.Connection | asyncpg.Pool, contact_id: UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM contacts c LEFT JOIN stages s ON s.id = c.stage_id WHERE c.id = $1",  # noqa: S608 - constant COLUMNS
        contact_id,
    )
    if row is None:
        return None
    activities = await conn.fetch(
        """
        SELECT a.id, a.type, a.from_stage_id::text, f.name AS from_stage, a.to_stage_id::text,
               t.name AS to_stage, a.lead_score, a.details, a.created_at
        FROM activities a
        LEFT JOIN stages f ON f.id = a.from_stage_id
        LEFT JOIN stages t ON t.id = a.to_stage_id
        WHERE a.contact_id = $1
        ORDER BY a.id DESC
        LIMIT $2
        """,
        contact_id,
        MAX_ACTIVITIES,
    )
    return {**dict(row), "activities": [dict(a) for a in activities]}


async def index(request: Request) -> Response:
    query = parse_query(request, ContactQuery)
    return ApiResponse(await list_contacts(deps_of(request).pool, query))


async def show(request: Request) -> Response:
    contact_id = parse_uuid(request.path_params["contact_id"], "contact")
    return ApiResponse(found(await get_contact(deps_of(request).pool, contact_id), "contact", contact_id))


routes: list[ApiRoute] = [
    ApiRoute(
        "/contacts",
        index,
        "GET",
        Operation(
            "Contacts, filtered by page and stage, in pages of `limit`",
            ((200, "ContactList"),),
            query=ContactQuery,
        ),
    ),
    ApiRoute(
        "/contacts/{contact_id}",
        show,
        "GET",
        Operation(
            "A contact with its activity log, newest first",
            ((200, "ContactWithActivities"),),
            path_schemas=CONTACT_ID,
        ),
    ),
]
