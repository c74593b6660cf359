"""Graph API answers turned into what the backfill publishes (pure): threads, customers, messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.messages import ChatMessage, Platform


@dataclass
class Conversation:
    """A thread as the backfill needs it: the customer and their messages, oldest first."""

    id: str
    platform: Platform
    updated_time: datetime
    contact_id: str
    contact_name: str | None
    messages: list[ChatMessage]
    more_after: str | None = None  # cursor of older messages when the thread is longer


@dataclass
class Failure:
    """A conversation that could not be fetched; it becomes a FAILED job item."""

    conversation_id: str
    contact_id: str | None
    error: str
    code: int | None


@dataclass
class ConversationPage:
    conversations: list[Conversation]
    after: str | None  # cursor of the next page; None when this was the last
    failures: list[Failure] = field(default_factory=list)


def next_cursor(body: dict[str, Any]) -> str | None:
    """The `after` cursor when Meta says there is more (`paging.next`), else None."""
    paging = body.get("paging") or {}
    if not paging.get("next"):
        return None
    after = (paging.get("cursors") or {}).get("after")
    return str(after) if after else None


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def parse_messages(items: list[dict[str, Any]], own: set[str]) -> list[ChatMessage]:
    """Graph message objects (newest first) → ChatMessages, oldest first; malformed ones are skipped."""
    out = []
    for item in reversed(items):
        try:
            out.append(_message(item, own))
        except (ValueError, TypeError, AttributeError, KeyError):
            continue
    return out


def _message(item: dict[str, Any], own: set[str]) -> ChatMessage:
    attachments = [
        str(a.get("mime_type") or "file").split("/")[0]
        for a in ((item.get("attachments") or {}).get("data") or [])
    ]
    return ChatMessage(
        mid=item["id"],
        from_page=str((item.get("from") or {}).get("id")) in own,
        text=item.get("message") or None,
        attachments=attachments,
        sent_at=parse_time(item["created_time"]),
    )


def parse_conversation(item: dict[str, Any], platform: Platform, own: set[str]) -> Conversation | Failure:
    """A conversations-list item → Conversation (customer from the participants) or Failure.

    Never raises: one malformed thread must not stop a walk (it would stop at the same place again).
    """
    conv_id = str(item.get("id", ""))
    customer: Any = None
    try:
        people = (item.get("participants") or {}).get("data") or []
        customer = next((p for p in people if str(p.get("id")) not in own), None)
        if customer is None or not item.get("updated_time"):
            return Failure(conv_id, None, "conversation has no customer participant", None)
        nested = item.get("messages") or {}
        return Conversation(
            id=conv_id,
            platform=platform,
            updated_time=parse_time(item["updated_time"]),
            contact_id=str(customer["id"]),
            contact_name=customer.get("name") or customer.get("username") or None,
            messages=parse_messages(nested.get("data") or [], own),
            more_after=next_cursor(nested),
        )
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        contact = str(customer["id"]) if isinstance(customer, dict) else None
        return Failure(conv_id, contact, f"unreadable conversation: {type(err).__name__}", None)
