"""Text Postgres can hold: customer text, names and ids without NUL characters or lone surrogates.

JSON may carry `\\u0000` and unpaired `\\ud800`-style escapes, and Meta signs what it sends, so
such a message is accepted; Postgres `text` refuses NUL and UTF-8 cannot encode a lone
surrogate. Every boundary that writes customer text cleans it first, so the message is stored
(without those characters) instead of failing on every delivery.
"""

from __future__ import annotations

import re
import uuid

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(value: str) -> str:
    """`value` without NUL characters and lone surrogates (the same object when it has none)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("", value)
    return value


def is_uuid(value: str) -> bool:
    """Whether a `uuid` column can hold `value` (ids from outside are checked before a query)."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def clean_optional(value: str | None) -> str | None:
    return None if value is None else clean(value)
