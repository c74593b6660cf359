"""The transcript store: messages upserted by mid (edits and unsends applied), loaded within a budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from shared.messages import ChatMessage, ConversationUpdated, newest_per_mid
from shared.text import clean_optional

# The prompt's per-message overhead (timestamp, speaker, delimiters) in estimated tokens.
_LINE_OVERHEAD = 8


@dataclass(frozen=True)
class Key:
    """One conversation: a customer of a page on one platform."""

    page_id: str
    platform: str
    contact_id: str

    @classmethod
    def of(cls, event: ConversationUpdated) -> Key:
        return cls(event.page_id, event.platform, event.contact_id)


def estimate_tokens(text: str) -> int:
    """A cheap upper-ish estimate: about four characters per token for Latin scripts."""
    return len(text) // 4 + 1


def message_tokens(message: ChatMessage) -> int:
    return estimate_tokens(message.text or "") + 4 * len(message.attachments) + _LINE_OVERHEAD


def fit(messages: Sequence[ChatMessage], budget: int) -> list[ChatMessage]:
    """The newest messages (oldest first) whose estimated tokens fit `budget`; oldest dropped first.

    The newest message is always kept, whatever its size: a transcript without it says nothing.
    """
    kept: list[ChatMessage] = []
    used = 0
    for message in reversed(messages):
        cost = message_tokens(message)
        if kept and used + cost > budget:
            break
        kept.append(message)
        used += cost
    kept.reverse()
    return kept


# Upserts an event's messages ($1 page, $2 platform, $3 contact, $4.. the columns); each changed
# row answers whether it is a customer message seen for the first time. Used inside a statement
# that also counts the change (services/analyzer/repository.store).
UPSERT = """
    INSERT INTO messages AS m (mid, page_id, platform, contact_external_id, from_page, text,
                               attachments, sent_at, edit_count, deleted)
    SELECT u.mid, $1, $2, $3, u.from_page,
           CASE WHEN u.deleted THEN NULL ELSE u.text END,
           u.attachments::jsonb, u.sent_at, u.edit_count, u.deleted
    FROM unnest($4::text[], $5::bool[], $6::text[], $7::text[], $8::timestamptz[],
                $9::int[], $10::bool[])
         AS u(mid, from_page, text, attachments, sent_at, edit_count, deleted)
    ON CONFLICT (mid) DO UPDATE SET
        text = CASE WHEN excluded.deleted OR m.deleted THEN NULL ELSE excluded.text END,
        attachments = CASE WHEN excluded.deleted OR m.deleted THEN '[]'::jsonb
                           ELSE excluded.attachments END,
        edit_count = greatest(m.edit_count, excluded.edit_count),
        deleted = m.deleted OR excluded.deleted
    WHERE excluded.edit_count > m.edit_count OR (excluded.deleted AND NOT m.deleted)
    RETURNING (m.xmax = 0 AND NOT m.from_page) AS new_customer
"""


def upsert_args(event: ConversationUpdated) -> tuple[object, ...]:
    """UPSERT's parameters for the event's messages (none: it changes nothing).

    A higher edit_count replaces the text; an unsend marks the message deleted and forgets its
    text. An older or equal version of a stored message changes nothing.
    """
    # One row per mid: ON CONFLICT DO UPDATE may not touch a row twice in one statement.
    messages = newest_per_mid(event.messages)
    return (
        event.page_id,
        event.platform,
        event.contact_id,
        [m.mid for m in messages],
        [m.from_page for m in messages],
        [clean_optional(m.text) for m in messages],  # older queued copies may hold NUL
        # A list of lists would read as a 2-D array: send each message's list as JSON text.
        [orjson.dumps(m.attachments).decode() for m in messages],
        [m.sent_at for m in messages],
        [m.edit_count for m in messages],
        [m.deleted for m in messages],
    )


# The newest `limit` ($4) live messages of a conversation, newest first, as one JSON array (so
# the state, the transcript and the stages are read in one statement).
LOAD_JSON = """
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'mid', x.mid, 'from_page', x.from_page, 'text', x.text,
               'attachments', x.attachments, 'sent_at', x.sent_at, 'edit_count', x.edit_count)
           ORDER BY x.sent_at DESC, x.mid DESC), '[]'::jsonb)
    FROM (SELECT mid, from_page, text, attachments, sent_at, edit_count FROM messages
          WHERE page_id = $1 AND platform = $2 AND contact_external_id = $3 AND NOT deleted
          ORDER BY sent_at DESC, mid DESC LIMIT $4) x
"""


def from_json(rows: list[dict[str, object]], token_budget: int) -> list[ChatMessage]:
    """LOAD_JSON's rows (newest first) as the transcript for scoring, oldest first."""
    messages = [
        ChatMessage.model_validate({**r, "attachments": r["attachments"] or []}) for r in reversed(rows)
    ]
    return fit(messages, token_budget)
