"""POST /webhooks/meta: verify, parse and durably queue one Meta delivery (a bare ASGI handler).

This is the hot path, so it speaks ASGI directly instead of going through Starlette's request,
response and middleware objects (about a tenth of the CPU a delivery costs); every other route
stays a normal Starlette route.
"""

from __future__ import annotations

import functools
import json
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from starlette.types import Message, Receive, Scope, Send

from services.webhook import metrics
from services.webhook.accounts import InstagramPages
from services.webhook.boundary import cap_for, read_capped
from services.webhook.deps import Deps
from services.webhook.metrics import REJECTED
from services.webhook.parse import COUNTED_ONLY, Parsed, group, parse
from shared.errors import DATABASE_ERRORS, BrokerUnavailable

PATH = "/webhooks/meta"
MAX_BODY = cap_for(PATH)
RECEIPTS = {*COUNTED_ONLY, "other"}
ACKNOWLEDGED = (200, b"EVENT_RECEIVED")

log = structlog.get_logger("leadsync.webhook")


async def handle(deps: Deps, scope: Scope, receive: Receive, send: Send) -> None:
    started = time.perf_counter()
    status, text = await _deliver(deps, scope, receive)
    await send(_start(status, len(text)))
    await send({"type": "http.response.body", "body": text})
    metrics.request_seconds(status).observe(time.perf_counter() - started)


@functools.cache
def _start(status: int, length: int) -> Message:
    # The few answers this endpoint gives, each built once (servers only read the message).
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"%d" % length)]
    return {"type": "http.response.start", "status": status, "headers": headers}


_NOT_JSON = object()


def _lenient_json(body: bytes) -> Any:
    """JSON that orjson refuses only for a lone surrogate escape (valid JSON; parse cleans it)."""
    try:
        return json.loads(body.decode("utf-8"))  # Meta sends UTF-8 (json.loads would guess)
    except (ValueError, RecursionError):
        return _NOT_JSON


def _refuse(reason: str, status: int, text: bytes) -> tuple[int, bytes]:
    REJECTED.labels(reason).inc()
    return status, text


async def _deliver(deps: Deps, scope: Scope, receive: Receive) -> tuple[int, bytes]:
    headers = dict(scope["headers"])  # ASGI header names are lower-case bytes
    body = await read_capped(headers, receive, MAX_BODY)
    if body is None:
        return _refuse("too_large", 413, b"body larger than 1 MiB")
    raw_header = headers.get(b"x-hub-signature-256")
    header = raw_header.decode("latin-1") if raw_header is not None else None
    problem = deps.verifier.problem(body, header)
    if problem is not None:
        if header is None and b"x-hub-signature" in headers:
            problem = "sha1_only"  # the legacy SHA-1 header alone proves nothing
        return _refuse(problem, 401, b"missing or invalid X-Hub-Signature-256")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = _lenient_json(body)
        if payload is _NOT_JSON:
            return _refuse("malformed_json", 400, b"body is not JSON")
    parsed = parse(payload, now=datetime.now(UTC))
    platform = parsed.platform or "other"
    for kind, count in parsed.kinds.items():
        metrics.events(platform, kind).inc(count)
    if parsed.platform is None or not parsed.items:
        if not parsed.kinds.keys() <= RECEIPTS:
            # Feed changes, dashboard tests, odd shapes: worth a line; receipts are routine.
            log.info("webhook.ignored", object=platform, kinds=parsed.kinds)
        return ACKNOWLEDGED
    try:
        pages = None
        if parsed.platform == "instagram":
            pages = await deps.instagram.resolve(parsed.accounts)
        events, unknown = group(parsed.items, platform=parsed.platform, pages=pages)
        if unknown:
            _count_unknown(deps.instagram, parsed, unknown)
        await deps.batcher.submit(events)
    except BrokerUnavailable as err:
        log.warning("webhook.publish_failed", error=str(err), items=len(parsed.items))
        return _refuse("broker_unavailable", 503, b"broker unavailable, retry later")
    except DATABASE_ERRORS as err:
        log.warning("webhook.database_unavailable", error=type(err).__name__)
        return _refuse("database_unavailable", 503, b"database unavailable, retry later")
    return ACKNOWLEDGED


def _count_unknown(instagram: InstagramPages, parsed: Parsed, unknown: set[str]) -> None:
    items = sum(1 for item in parsed.items if item.account_id in unknown)
    metrics.events("instagram", "unknown_account").inc(items)
    for account in instagram.first_report(unknown):
        log.warning(
            "webhook.unknown_instagram_account",
            account_id=account,
            hint="register the page with its instagram_account_id (POST /api/pages)",
        )
