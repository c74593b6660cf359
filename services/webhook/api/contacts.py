"""Admin API for contacts: a page's contacts by stage with keyset pagination, and one contact's log."""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.webhook.api.encoding import ApiResponse
from services.webhook.api.errors import ApiError, not_found
from services.webhook.api.pipelines import parse_uuid

MAX_ACTIVITIES = 200
MAX_LIMIT = 500

COLUMNS = """c.id::text, c.page_id, c.platform, c.external_id, c.name, c.pipeline_id::text,
    c.stage_id::text, s.name AS stage_name, s.type AS stage_type, c.lead_score, c.lead_status,
    c.stage_entered_at, c.last_message_at, c.analyzed_through, c.ai_summary, c.ai_reasoning,
    c.ai_confidence, c.used_fallback, c.created_at, c.updated_at"""


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"after": last_id})).decode().rstrip("=")


def decode_cursor(cursor: str) -> UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return UUID(orjson.loads(raw)["after"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ValueError("not a cursor this API returned; pass next_cursor unchanged") from None


class ContactQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page_id: str | None = Field(default=None, min_length=1)
    stage_id: UUID | None = None
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value is not None:
            decode_cursor(value)
        return value


Q = TypeVar("Q", bound=BaseModel)


def parse_query(request: Request, model: type[Q] = ContactQuery) -> Q:  # type: ignore[assignment]
    """The query string validated by `model`; 422 naming the bad parameter."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "query"
        raise ApiError(422, f"{field}: {first['msg']}", field=field) from None


async def list_contacts(conn: asyncpg.Connection | asyncpg.Pool, query: ContactQuery
                        ) -> dict[str, Any]:
    """One page of contacts in id order (stable under inserts), with the cursor of the next."""
    after = decode_cursor(query.cursor) if query.cursor else None
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS}
        FROM contacts c LEFT JOIN stages s ON s.id = c.stage_id
        WHERE ($1::text IS NULL OR c.page_id = $1)
          AND ($2::uuid IS NULL OR c.stage_id = $2)
          AND ($3::uuid IS NULL OR c.id > $3)
        ORDER BY c.id
        LIMIT $4
        """,
        query.page_id, query.stage_id, after, query.limit + 1,
    )
    items = [dict(r) for r in rows[: query.limit]]
    more = len(rows) > query.limit
    return {"items": items, "next_cursor": encode_cursor(items[-1]["id"]) if more else None}


async def get_contact(conn: asyncpg.Connection | asyncpg.Pool, contact_id: UUID
                      ) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM contacts c LEFT JOIN stages s ON s.id = c.stage_id WHERE c.id = $1",
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
        contact_id, MAX_ACTIVITIES,
    )
    return {**dict(row), "activities": [dict(a) for a in activities]}


async def index(request: Request) -> Response:
    return ApiResponse(await list_contacts(request.app.state.deps.pool, parse_query(request)))


async def show(request: Request) -> Response:
    contact_id = parse_uuid(request.path_params["contact_id"], "contact")
    contact = await get_contact(request.app.state.deps.pool, contact_id)
    if contact is None:
        raise not_found("contact", str(contact_id))
    return ApiResponse(contact)


routes: list[BaseRoute] = [
    Route("/contacts", index, methods=["GET"]),
    Route("/contacts/{contact_id}", show, methods=["GET"]),
]
