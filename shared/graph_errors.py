"""Meta Graph API errors classified by code, and the usage headers read as one percentage and a pause."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from shared.errors import GraphError, RateLimited, TemporaryError, TokenInvalid, TooMuchData

TOKEN_CODES = frozenset({190})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 80001, 80002, 80006})
TEMPORARY_CODES = frozenset({1, 2})


@dataclass(frozen=True)
class Usage:
    """The highest percentage any usage header reports, and Meta's wait estimate in seconds."""

    percent: float = 0.0
    regain_seconds: float = 0.0


def usage_of(headers: Mapping[str, str]) -> Usage:
    """Read X-App-Usage, X-Page-Usage and X-Business-Use-Case-Usage; bad values count as 0."""
    percents: list[float] = []
    regain = 0.0
    for name in ("x-app-usage", "x-page-usage", "x-ad-account-usage"):
        data = _json(headers.get(name))
        if isinstance(data, dict):
            percents.extend(_percents(data))
    buc = _json(headers.get("x-business-use-case-usage"))
    if isinstance(buc, dict):
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict):
                    percents.extend(_percents(entry))
                    minutes = _number(entry.get("estimated_time_to_regain_access"))
                    regain = max(regain, minutes * 60)
    return Usage(max(percents, default=0.0), regain)


def slow_down(usage: Usage, interval: float, from_percent: float = 75) -> float:
    """Extra seconds before the next call: none below `from_percent`, growing to 4 intervals at
    100 %, or Meta's own estimate of when access returns when it gives a longer one."""
    if usage.percent < from_percent:
        return usage.regain_seconds
    share = min((usage.percent - from_percent) / (100 - from_percent), 1.0)
    return max(interval * 4 * share, usage.regain_seconds)


def _json(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


def _number(value: Any) -> float:
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 0.0


def _percents(data: dict[str, Any]) -> list[float]:
    return [_number(data.get(k)) for k in ("call_count", "total_cputime", "total_time") if k in data]


def error_from(
    body: dict[str, Any], status: int, usage: Usage, *, reduce_on_code_1: bool = False
) -> GraphError:
    """Meta's `{"error": {...}}` object → the exception class its code calls for."""
    code = _int(body.get("code"))
    subcode = _int(body.get("error_subcode"))
    text = f"Graph error {code}" + (f"/{subcode}" if subcode else "")
    if body.get("message"):
        text += f": {body['message']}"
    kw: dict[str, Any] = {"subcode": subcode, "fbtrace_id": body.get("fbtrace_id")}
    if code in TOKEN_CODES:
        return TokenInvalid(text, code, **kw)
    if code in RATE_LIMIT_CODES:
        return RateLimited(text, code, retry_after=usage.regain_seconds, **kw)
    if code == 1 and reduce_on_code_1:
        return TooMuchData(text, code, **kw)
    if code in TEMPORARY_CODES or status >= 500 or body.get("is_transient") is True:
        return TemporaryError(text, code, **kw)
    return GraphError(text, code, **kw)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
