"""structlog set up once per process: JSON or console lines, bound context, secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import orjson
import structlog

REDACTED = "***"

# Keys whose values are secret whatever they contain.
_SECRET_KEYS = re.compile(
    r"(access_?token|app_?secret|api_?key|secret|password|authorization|verify_?token|token_enc)",
    re.IGNORECASE,
)
# Secrets that travel inside other text: tokens in Graph URLs, bearer headers, URL passwords.
_SECRET_PATTERNS = [
    (re.compile(r"(access_token=)[^&\s\"']+", re.IGNORECASE), r"\1" + REDACTED),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=\-]+", re.IGNORECASE), r"\1" + REDACTED),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+(@)"), r"\1" + REDACTED + r"\2"),
    (re.compile(r"\bEAA[A-Za-z0-9]{20,}"), REDACTED),  # Meta page/user access tokens
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"), REDACTED),  # OpenAI-style API keys
]


class Redactor:
    """A structlog processor that masks known secret values and secret-looking text anywhere."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Very short values would mask ordinary words; settings validation keeps real ones long.
        found = {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(set(self._secrets) | found, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, repl in _SECRET_PATTERNS:
            text = pattern.sub(repl, text)
        return text

    def _clean(self, key: str | None, value: Any) -> Any:
        if key is not None and _SECRET_KEYS.search(key) and value not in (None, "", False):
            return REDACTED
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(None, v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.scrub(str(value))

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
        for key in list(event):
            event[key] = self._clean(key if key != "event" else None, event[key])
        return event


_redactor = Redactor()


def add_secrets(secrets: Iterable[str]) -> None:
    """Register more secret values (e.g. page tokens read from the database) for masking."""
    _redactor.add(secrets)


def _orjson_dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure(*, service: str, fmt: str = "json", level: str = "info", secrets: Iterable[str] = ()) -> None:
    """Configure structlog for this process; call once at start."""
    _redactor.add(secrets)
    renderer: Any
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    else:
        renderer = structlog.processors.JSONRenderer(serializer=_orjson_dumps)
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redactor,
        renderer,
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    # Libraries that log through the standard library (uvicorn, aio-pika) go through the redactor too.
    logging.basicConfig(
        level=max(logging.WARNING, logging.getLevelNamesMapping()[level.upper()]),
        handlers=[_StdlibBridge()],
        force=True,
    )


class _StdlibBridge(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        log = structlog.get_logger(record.name)
        msg = record.getMessage()
        if record.exc_info:
            log.log(record.levelno, msg, exc_info=record.exc_info)
        else:
            log.log(record.levelno, msg)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
