"""Turns a verified Meta webhook body into encoded ConversationUpdated messages (pure, no I/O).

Two steps, because Instagram entries name an Instagram account that only the database can map
to a page: `parse` reads every item of every entry into `Item`s and counts the rest by kind;
`group` turns the items into one ConversationUpdated per conversation, encoded for the wire,
with a deterministic message_id so a repeated delivery gets the same id.

This is the webhook's hot path, so messages are built as the plain dicts their JSON is made of
(in the models' field order), checked as `ChatMessage` would check them, and encoded once by
orjson: byte for byte what the models encode (tests/unit/webhook/test_parse.py holds every
shape to that). Building and dumping pydantic models here cost a quarter of a delivery's CPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from shared.broker import Encoded
from shared.messages import (
    MID_MAX_LENGTH,
    ChatMessage,
    ConversationUpdated,
    Platform,
    content_id,
    newest_per_mid,
)
from shared.text import clean

OBJECT_PLATFORM: dict[str, Platform] = {"page": "messenger", "instagram": "instagram"}
# Items that carry no message to store: acknowledged and counted under their own kind.
COUNTED_ONLY = ("read", "delivery", "reaction", "optin", "referral", "account_linking", "policy_enforcement")
# transcript_messages.edit_count is an int: a larger num_edit is read as the largest.
EDIT_COUNT_MAX = 2**31 - 1

# A ChatMessage's fields as its JSON carries them (built in `_parse_item`).
WireChat = dict[str, Any]


class Item(NamedTuple):
    """One message-bearing item: which account (entry id) and customer it belongs to."""

    account_id: str
    contact_id: str
    message: WireChat


@dataclass
class Parsed:
    """What one webhook body holds: message items and a count of every item by kind."""

    platform: Platform | None = None
    items: list[Item] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    @property
    def accounts(self) -> set[str]:
        return {item.account_id for item in self.items}


def parse(body: Any, *, now: datetime) -> Parsed:
    """Read every `messaging[]` and `standby[]` item of every entry; never raises on odd input.

    `now` stands in for a missing or unreadable timestamp.
    """
    out = Parsed()
    if not isinstance(body, dict):
        out.count("not_an_object")
        return out
    out.platform = OBJECT_PLATFORM.get(str(body.get("object")))
    entries = body.get("entry")
    if out.platform is None or not isinstance(entries, list):
        out.count("other_object")
        return out
    now = now.astimezone(UTC)
    for entry in entries:
        account = _id(entry)
        if account is None:
            out.count("bad_entry")
            continue
        if "messaging" not in entry and "standby" not in entry:
            # Feed `changes[]`, the App Dashboard's test deliveries and fields we do not use.
            out.count("changes" if "changes" in entry else "bad_entry")
            continue
        # `standby` holds the items of threads another app owns (handover protocol).
        for key in ("messaging", "standby"):
            items = entry.get(key)
            if isinstance(items, list):
                for item in items:
                    _parse_item(out, account, item, now)
    return out


def group(
    items: list[Item], *, platform: Platform, pages: Mapping[str, str] | None = None
) -> tuple[list[Encoded], set[str]]:
    """One encoded ConversationUpdated per (page, contact), in arrival order.

    Messenger accounts are pages. Instagram accounts are mapped through `pages`; items of
    accounts it does not know are left out and their accounts returned as the second value.
    """
    convs: dict[tuple[str, str], list[WireChat]] = {}
    unknown: set[str] = set()
    for item in items:
        page = item.account_id if platform == "messenger" else (pages or {}).get(item.account_id)
        if page is None:
            unknown.add(item.account_id)
            continue
        convs.setdefault((page, item.contact_id), []).append(item.message)
    routing_key = ConversationUpdated.routing_key_for(platform)
    events = []
    for (page, contact), versions in convs.items():
        msgs = _newest_per_mid(versions)
        body = orjson.dumps(
            {
                "page_id": page,
                "platform": platform,
                "contact_id": contact,
                "contact_name": None,
                "messages": msgs,
                "origin": "webhook",
                "job_id": None,
            },
            option=orjson.OPT_UTC_Z,
        )
        # The versions of the messages identify the update: an edit or an unsend of a mid
        # is new content, a repeated delivery of the same items is not.
        key = [(m["mid"], m["edit_count"], m["deleted"]) for m in msgs]
        message_id = content_id(("webhook", page, platform, contact, key))
        events.append(Encoded(routing_key, body, message_id, ConversationUpdated.SCHEMA_VERSION))
    return events, unknown


def _newest_per_mid(versions: list[WireChat]) -> list[WireChat]:
    """Repeats of a mid in one body are one message (the rule is `newest_per_mid`'s)."""
    if len(versions) == 1 or len({m["mid"] for m in versions}) == len(versions):
        return versions
    return [m.model_dump() for m in newest_per_mid([ChatMessage(**m) for m in versions])]


def _id(party: Any) -> str | None:
    """The `id` of an entry, sender or recipient."""
    return _text_of(party.get("id")) if isinstance(party, dict) else None


def _text_of(value: Any) -> str | None:
    """A string or integer as cleaned text, or None for anything else or for an empty result."""
    if isinstance(value, str):
        value = clean(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    else:
        return None
    return value or None


def _timestamp(value: Any, now: datetime) -> datetime:
    # Messenger and Instagram timestamps are milliseconds since the epoch.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return now
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return now


def _attachment_types(message: dict[str, Any]) -> list[str]:
    kinds = []
    attachments = message.get("attachments")
    if isinstance(attachments, list):
        for a in attachments:
            kind = a.get("type") if isinstance(a, dict) else None
            kinds.append(clean(kind) or "file" if isinstance(kind, str) else "file")
    reply_to = message.get("reply_to")
    if isinstance(reply_to, dict) and isinstance(reply_to.get("story"), dict):
        kinds.append("story_reply")
    if isinstance(message.get("referral"), dict):
        kinds.append("ad_referral")
    if message.get("is_unsupported") is True:
        kinds.append("unsupported")
    return kinds


def _text(value: Any) -> str | None:
    # NUL and lone surrogates are valid JSON but Postgres cannot store them.
    return clean(value) if isinstance(value, str) else None


def _mid(kind: str, account: str, item: dict[str, Any], body: dict[str, Any]) -> str | None:
    mid = _text_of(body.get("mid"))
    if mid is None:
        # No mid (older postbacks, odd items): a hash of the item stands in, stable across retries.
        try:
            return f"{kind}:{content_id(account, item)}"
        except TypeError:  # nested deeper than orjson serialises: not a shape Meta sends
            return None
    return mid if len(mid) <= MID_MAX_LENGTH else None  # longer than any Meta sends


def _parse_item(out: Parsed, account: str, item: Any, now: datetime) -> None:
    if not isinstance(item, dict):
        out.count("bad_item")
        return
    sender, recipient = _id(item.get("sender")), _id(item.get("recipient"))
    if "message" in item:
        kind, body = "message", item["message"]
    elif "message_edit" in item:
        kind, body = "edit", item["message_edit"]
    elif "postback" in item:
        kind, body = "postback", item["postback"]
    else:
        out.count(next((k for k in COUNTED_ONLY if k in item), "other"))
        return
    if not isinstance(body, dict) or sender is None or recipient is None:
        out.count("bad_item")
        return
    from_page = body.get("is_echo") is True or sender == account
    if kind == "message" and body.get("is_deleted") is True:
        kind = "unsend"  # the customer's or, as an echo, the page's own message was unsent
    elif kind == "message" and from_page:
        kind = "echo"
    mid = _mid(kind, account, item, body)
    if mid is None:
        out.count("bad_item")
        return
    text: str | None = None
    attachments: list[str] = []
    edit_count = 0
    if kind == "postback":
        text = _text(body.get("title"))
    elif kind == "edit":
        text = _text(body.get("text"))
        num_edit = body.get("num_edit")
        edit_count = min(int(num_edit), EDIT_COUNT_MAX) if isinstance(num_edit, int) and num_edit > 0 else 1
    elif kind != "unsend":
        text = _text(body.get("text"))
        attachments = _attachment_types(body)
    out.count(kind)
    # ChatMessage's fields, in its order (so that the JSON is the model's, byte for byte).
    message = {
        "mid": mid,
        "from_page": from_page,
        "text": text,
        "attachments": attachments,
        "sent_at": _timestamp(item.get("timestamp"), now),
        "edit_count": edit_count,
        "deleted": kind == "unsend",
    }
    out.items.append(Item(account, recipient if from_page else sender, message))
