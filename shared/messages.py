"""The messages on the wire (DESIGN §5): pydantic models, their schema versions and codecs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal, TypeVar

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter

from shared.errors import DecodeError

Platform = Literal["messenger", "instagram"]
Origin = Literal["webhook", "backfill"]
LeadStatus = Literal["NEW", "CONTACTED", "QUALIFIED", "WON", "LOST"]


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class WireMessage(BaseModel):
    """Base of every model on the wire (DESIGN §5): immutable, unknown fields ignored, with the
    schema version its header `v` carries and the routing key it is published with."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    SCHEMA_VERSION: ClassVar[int] = 1
    ROUTING_KEY: ClassVar[str] = ""

    @property
    def routing_key(self) -> str:
        return self.ROUTING_KEY


# The longest mid a message may carry (Meta's are under 100 characters).
MID_MAX_LENGTH = 512


class ChatMessage(WireMessage):
    mid: str = Field(min_length=1, max_length=MID_MAX_LENGTH)
    from_page: bool = False
    text: str | None = None
    attachments: list[str] = Field(default_factory=list)
    sent_at: UtcDatetime
    # A later version of an already sent message: an edit (text replaced, edit_count
    # grows) or an unsend (deleted). Stores keep the version with the highest edit_count.
    edit_count: int = Field(default=0, ge=0)
    deleted: bool = False


def _version(message: ChatMessage) -> tuple[bool, int, datetime]:
    return message.deleted, message.edit_count, message.sent_at


def newest_per_mid(messages: list[ChatMessage]) -> list[ChatMessage]:
    """One message per mid, in first-arrival order: the newest version (an unsend wins, then the
    higher edit_count, then the later timestamp), sent when its first version was sent.

    Meta repeats items and may put a message and its edit or unsend in one delivery; a store
    that upserts by mid must see each mid once.
    """
    if len({m.mid for m in messages}) == len(messages):
        return messages
    kept: dict[str, ChatMessage] = {}
    first_sent: dict[str, datetime] = {}
    for message in messages:
        current = kept.get(message.mid)
        if current is None:
            kept[message.mid] = message
            first_sent[message.mid] = message.sent_at
            continue
        first_sent[message.mid] = min(first_sent[message.mid], message.sent_at)
        if _version(message) > _version(current):
            kept[message.mid] = message
    return [
        m if m.sent_at == first_sent[mid] else m.model_copy(update={"sent_at": first_sent[mid]})
        for mid, m in kept.items()
    ]


class ConversationUpdated(WireMessage):
    page_id: str = Field(min_length=1)
    platform: Platform
    contact_id: str = Field(min_length=1)
    contact_name: str | None = None
    messages: list[ChatMessage] = Field(default_factory=list)
    origin: Origin = "webhook"
    job_id: str | None = None

    @property
    def routing_key(self) -> str:
        return self.routing_key_for(self.platform)

    @staticmethod
    def routing_key_for(platform: Platform) -> str:
        return f"conversation.updated.{platform}"


class ScoreSignal(BaseModel):
    """One reason an analysis scored as it did: its points and the messages (mids) that fired it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    signal: str
    points: int
    mids: list[str] = Field(default_factory=list)


class Analysis(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    lead_score: int = Field(ge=1, le=100)
    lead_status: LeadStatus
    recommended_stage: str = ""
    summary: str = ""
    reasoning: str = ""
    confidence: int = Field(ge=0, le=100)
    used_fallback: bool = False
    model: str = ""
    prompt_version: str = ""
    # Why (DESIGN §6 `scores`, §7.6): the fallback's signals cite the messages that fired them;
    # `evidence` is every mid that moved the analysis (the LLM names them in its reply).
    signals: list[ScoreSignal] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    # Which analysis this is (the analyzer sets it once per scoring): the score ledger keeps one
    # row per analysis however often it is delivered or republished. Empty on older messages.
    analysis_id: str = Field(default="", max_length=100)


class ContactScored(WireMessage):
    ROUTING_KEY: ClassVar[str] = "contact.scored"

    page_id: str = Field(min_length=1)
    platform: Platform
    contact_id: str = Field(min_length=1)
    contact_name: str | None = None
    analysis: Analysis
    analyzed_through: UtcDatetime
    message_count: int = Field(ge=0)
    origin: Origin = "webhook"
    job_id: str | None = None
    # A candidate prompt or model's analysis of the same transcript (shadow scoring, DESIGN
    # §7.7): written to the ledger with shadow = true, never used to place the contact.
    shadow: Analysis | None = None


class BackfillRequested(WireMessage):
    ROUTING_KEY: ClassVar[str] = "backfill.requested"

    job_id: str = Field(min_length=1)


WireModel = ConversationUpdated | ContactScored | BackfillRequested
M = TypeVar("M", bound=WireMessage)


def encode(item: WireMessage | Sequence[WireMessage]) -> bytes:
    """JSON bytes of one message or of a batch of messages of one type."""
    if isinstance(item, WireMessage):
        return item.model_dump_json().encode()
    # One pydantic-core call for the whole batch: half the cost of dumping item by item.
    return _adapter(type(item[0])).dump_json(list(item)) if item else b"[]"


def decode(model: type[M], body: bytes, *, version: int | None = None, batch: bool = False) -> list[M]:
    """Parse a body into a list of messages (one item unless it is a batch)."""
    if version is not None and version > model.SCHEMA_VERSION:
        raise DecodeError(
            f"{model.__name__} schema v{version} is newer than this service understands "
            f"(v{model.SCHEMA_VERSION}); upgrade the consumer"
        )
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise DecodeError(f"body is not JSON: {err}") from None
    items = data if batch or isinstance(data, list) else [data]
    if not isinstance(items, list):
        raise DecodeError("batch body is not a JSON list")
    try:
        decoded: list[M] = _adapter(model).validate_python(items)
        return decoded
    except ValueError as err:
        raise DecodeError(f"not a valid {model.__name__}: {err}") from None


_adapters: dict[type, TypeAdapter] = {}  # type: ignore[type-arg]


def _adapter(model: type) -> TypeAdapter:  # type: ignore[type-arg]
    if model not in _adapters:
        _adapters[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return _adapters[model]


def content_id(*parts: object) -> str:
    """A deterministic message id for the given content, for de-duplication downstream."""
    # Each part's JSON, each followed by a unit separator.
    data = b"".join(
        [orjson.dumps(part, option=orjson.OPT_SORT_KEYS, default=str) + b"\x1f" for part in parts]
    )
    return hashlib.sha256(data).hexdigest()[:32]


def message_id(msg: WireMessage) -> str:
    """The default deterministic message_id: a hash of the message content."""
    return content_id(type(msg).__name__, msg.model_dump(mode="json"))
