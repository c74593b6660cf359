"""AMQP header values read as the types leadsync wrote them.

aio-pika types every header value as one wide union (bytes, numbers, strings, tables, …); these
two readers are the one place that narrows them. An absent, empty or void value is the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal


def header_int(headers: Mapping[str, object] | None, name: str, default: int = 0) -> int:
    """The header as a whole number; ValueError when it holds something else."""
    value = (headers or {}).get(name)
    if value is None or value in ("", b""):
        return default
    if isinstance(value, bool | int | float | Decimal):
        return int(value)
    if isinstance(value, str | bytes | bytearray):
        return int(value)  # ValueError when it is not a number
    raise ValueError(f"header {name} is not a number: {type(value).__name__}")


def header_text(headers: Mapping[str, object] | None, name: str) -> str | None:
    """The header as text (bytes decoded); None when absent or empty."""
    value = (headers or {}).get(name)
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode(errors="replace")
    return str(value) if value else None
