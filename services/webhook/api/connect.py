"""Admin API for connected pages: discover and connect with a user token, disconnect, health, and
the app-level webhook subscription (DESIGN §3 "Connecting pages")."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from services.webhook import connect
from services.webhook.api.encoding import ApiResponse
from services.webhook.api.errors import ApiError, not_found, parse_body
from services.webhook.api.spec import PAGE_ID, ApiRoute, Operation
from services.webhook.boundary import Id, Token
from services.webhook.deps import deps_of
from shared import page_health
from shared.errors import ConnectError, GraphError


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DiscoverBody(_Body):
    user_access_token: Token = Field(
        description="a Facebook user token; used for this call only, never stored"
    )


class ConnectBody(DiscoverBody):
    page_ids: list[Id] = Field(min_length=1, max_length=100)
    backfill: bool = Field(default=True, description="start each page's first FULL backfill")


class DisconnectBody(_Body):
    forget: bool = Field(
        default=False,
        description="also delete the page's contacts, messages, activities, scores and job items",
    )


def _failed(err: ConnectError) -> ApiError:
    return ApiError(err.status, err.message)


async def discover(request: Request) -> Response:
    body = await parse_body(request, DiscoverBody)
    deps = deps_of(request)
    try:
        found = await connect.discover(deps, body.user_access_token.get_secret_value())
    except ConnectError as err:
        raise _failed(err) from None
    return ApiResponse({"user": found.user, "pages": await connect.listing(deps.pool, found)})


async def connect_pages(request: Request) -> Response:
    body = await parse_body(request, ConnectBody)
    deps = deps_of(request)
    try:
        found = await connect.discover(deps, body.user_access_token.get_secret_value())
        result = await connect.connect(
            deps, found, list(dict.fromkeys(body.page_ids)), backfill=body.backfill
        )
    except ConnectError as err:
        raise _failed(err) from None
    return ApiResponse(result)


async def disconnect(request: Request) -> Response:
    page_id = request.path_params["page_id"]
    body = await parse_body(request, DisconnectBody)
    deps = deps_of(request)
    result = await connect.disconnect(deps.pool, deps.cipher, deps.meta, page_id, forget=body.forget)
    if result is None:
        raise not_found("page", page_id)
    return ApiResponse(result)


async def health(request: Request) -> Response:
    page_id = request.path_params["page_id"]
    row = await deps_of(request).pool.fetchrow(
        "SELECT health_status, health_checked_at, health_detail FROM pages WHERE id = $1", page_id
    )
    if row is None:
        raise not_found("page", page_id)
    return ApiResponse(
        page_health.report(row["health_status"], row["health_checked_at"], _detail(row["health_detail"]))
    )


def _detail(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def check_health(request: Request) -> Response:
    page_id = request.path_params["page_id"]
    deps = deps_of(request)
    try:
        meta = connect.meta_of(deps)
        assert deps.cipher is not None  # meta_of refuses a service without TOKEN_ENCRYPTION_KEY
        result = await page_health.check(deps.pool, meta, deps.cipher, page_id)
    except ConnectError as err:
        raise _failed(err) from None
    except GraphError as err:
        raise _failed(connect.meta_error(err, "checking the page")) from None
    if result is None:
        raise not_found("page", page_id)
    return ApiResponse(result)


async def subscription(request: Request) -> Response:
    deps = deps_of(request)
    try:
        meta = connect.meta_of(deps)
        if request.method == "GET":
            return ApiResponse(await connect.app_subscription_status(meta, connect.callback_of(deps)))
        return ApiResponse(
            await connect.ensure_app_subscription(
                meta, connect.callback_of(deps), deps.settings.meta_verify_token.get_secret_value()
            )
        )
    except ConnectError as err:
        raise _failed(err) from None


META_ERRORS = (400, 502, 503)

routes: list[ApiRoute] = [
    ApiRoute(
        "/connect/discover",
        discover,
        "POST",
        Operation(
            "List the pages a Facebook user token manages (connected ones marked)",
            ((200, "Discovered"),),
            body=DiscoverBody,
            errors=META_ERRORS,
        ),
    ),
    ApiRoute(
        "/connect",
        connect_pages,
        "POST",
        Operation(
            "Connect pages: token stored encrypted, webhooks subscribed, health checked, first backfill",
            ((200, "Connected"),),
            body=ConnectBody,
            errors=META_ERRORS,
        ),
    ),
    ApiRoute(
        "/pages/{page_id}/disconnect",
        disconnect,
        "POST",
        Operation(
            "Disconnect a page (unsubscribe, drop the token, auto sync off); forget deletes its data",
            ((200, "Disconnected"),),
            body=DisconnectBody,
            path_schemas=PAGE_ID,
        ),
    ),
    ApiRoute(
        "/pages/{page_id}/health",
        health,
        "GET",
        Operation("A page's health as last checked", ((200, "PageHealth"),), path_schemas=PAGE_ID),
    ),
    ApiRoute(
        "/pages/{page_id}/health",
        check_health,
        "POST",
        Operation(
            "Check a page's health now (a dropped subscription is restored)",
            ((200, "PageHealth"),),
            errors=META_ERRORS,
            path_schemas=PAGE_ID,
        ),
    ),
    ApiRoute(
        "/meta/subscription",
        subscription,
        "GET",
        Operation(
            "The app-level webhook subscription Meta holds, and what is missing",
            ((200, "AppSubscription"),),
            errors=META_ERRORS,
        ),
    ),
    ApiRoute(
        "/meta/subscription",
        subscription,
        "POST",
        Operation(
            "Set the app-level webhook subscription (Meta verifies the callback first)",
            ((200, "AppSubscription"),),
            errors=META_ERRORS,
        ),
    ),
]
