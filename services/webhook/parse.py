"""Turns a verified Meta webhook body into ConversationUpdated messages (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.messages import ChatMessage, ConversationUpdated, Platform

OBJECT_PLATFORM: dict[str, Platform] = {"page": "messenger", "instagram": "instagram"}


@dataclass
class Parsed:
    """What one webhook body holds: messages to publish and everything counted but not analysed."""

    events: list[tuple[ConversationUpdated, str]] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)

    def ignore(self, kind: str) -> None:
        self.ignored[kind] = self.ignored.get(kind, 0) + 1


def _timestamp(value: Any) -> datetime:
    # Messenger and Instagram timestamps are milliseconds since the epoch.
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def _items(entry: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("messaging", "standby"):
        items = entry.get(key)
        if isinstance(items, list):
            yield from (item for item in items if isinstance(item, dict))


def parse(body: Any) -> Parsed:
    """Normalise every messaging item of every entry; unknown shapes are counted, not raised."""
    out = Parsed()
    if not isinstance(body, dict):
        out.ignore("not_an_object")
        return out
    platform = OBJECT_PLATFORM.get(str(body.get("object")))
    entries = body.get("entry")
    if platform is None or not isinstance(entries, list):
        out.ignore("other_object")
        return out
    for entry in entries:
        if not isinstance(entry, dict):
            out.ignore("bad_entry")
            continue
        if "messaging" not in entry and "standby" not in entry:
            out.ignore("changes" if "changes" in entry else "bad_entry")
            continue
        page_id = str(entry.get("id", ""))
        for item in _items(entry):
            _parse_item(out, platform, page_id, item)
    return out


def _parse_item(out: Parsed, platform: Platform, page_id: str, item: dict[str, Any]) -> None:
    message = item.get("message")
    sender = (item.get("sender") or {}).get("id")
    recipient = (item.get("recipient") or {}).get("id")
    if not isinstance(message, dict) or not message.get("mid") or not sender or not recipient:
        out.ignore("other")
        return
    from_page = bool(message.get("is_echo"))
    customer = str(recipient if from_page else sender)
    chat = ChatMessage(
        mid=str(message["mid"]),
        from_page=from_page,
        text=message.get("text") if isinstance(message.get("text"), str) else None,
        attachments=[
            str(a.get("type", "file")) for a in message.get("attachments") or [] if isinstance(a, dict)
        ],
        sent_at=_timestamp(item.get("timestamp")),
    )
    event = ConversationUpdated(
        page_id=page_id, platform=platform, contact_id=customer, messages=[chat], origin="webhook"
    )
    out.events.append((event, chat.mid))
