"""Graph API answers turned into what the backfill publishes (pure): threads, customers, messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from shared.messages import ChatMessage, Platform
from shared.text import clean, clean_optional


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


# Query keys of a `paging.next` URL that say where the next page starts.
_PAGING_KEYS = ("after", "until", "since", "__paging_token", "offset", "pagingToken")
QUERY_CURSOR = "q:"  # a cursor made of a next URL's paging parameters (no token in it)


def next_cursor(body: dict[str, Any]) -> str | None:
    """Where the next page starts when Meta says there is more (`paging.next`), else None.

    Usually `paging.cursors.after`. A `next` without cursors (time- or offset-based paging) is
    followed through the paging parameters of its URL, never the URL itself: it holds the token.
    """
    paging = body.get("paging") or {}
    next_url = paging.get("next")
    if not next_url:
        return None
    after = (paging.get("cursors") or {}).get("after")
    if after:
        return str(after)
    query = dict(parse_qsl(urlsplit(str(next_url)).query))
    if query.get("after"):
        return query["after"]
    kept = {k: query[k] for k in _PAGING_KEYS if query.get(k)}
    return QUERY_CURSOR + urlencode(kept) if kept else None


def cursor_params(cursor: str | None) -> dict[str, str]:
    """The query parameters that ask for the page a `next_cursor` value points at."""
    if not cursor:
        return {}
    if cursor.startswith(QUERY_CURSOR):
        return dict(parse_qsl(cursor[len(QUERY_CURSOR) :]))
    return {"after": cursor}


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
        clean(str(a.get("mime_type") or "file").split("/")[0])
        for a in ((item.get("attachments") or {}).get("data") or [])
    ]
    return ChatMessage(
        mid=clean(str(item["id"])),
        from_page=str((item.get("from") or {}).get("id")) in own,
        text=clean_optional(item.get("message")) or None,
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
            contact_id=clean(str(customer["id"])),
            contact_name=clean_optional(customer.get("name") or customer.get("username")) or None,
            messages=parse_messages(nested.get("data") or [], own),
            more_after=next_cursor(nested),
        )
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        contact = str(customer["id"]) if isinstance(customer, dict) else None
        return Failure(conv_id, contact, f"unreadable conversation: {type(err).__name__}", None)
