"""The simulated Graph API's data: generated threads, their Graph JSON, cursors and errors."""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from starlette.responses import Response

from leadsync.sim import corpus


@dataclass
class SimConversation:
    """One thread: its customer, its updated time, and its (customer?, text) turns, oldest first."""

    id: str
    customer_id: str
    customer_name: str
    username: str
    updated: datetime
    turns: list[tuple[bool, str]]

    def messages(self, page_object: str) -> list[dict[str, Any]]:
        """Graph message objects, newest first, as Meta returns them."""
        out = []
        step = timedelta(minutes=1)
        start = self.updated - step * (len(self.turns) - 1)
        for i, (from_page, text) in enumerate(self.turns):
            sender = (
                {"id": page_object, "name": "Shop"}
                if from_page
                else {"id": self.customer_id, "name": self.customer_name}
            )
            out.append(
                {
                    "id": f"m_{self.id}_{i}",
                    "created_time": graph_time(start + step * i),
                    "from": sender,
                    "message": text,
                }
            )
        out.reverse()
        return out


@dataclass
class SimPage:
    id: str
    token: str
    instagram_account_id: str | None = None
    name: str = ""
    conversations: dict[str, list[SimConversation]] = field(default_factory=dict)


def generate(
    page_id: str, platform: str, index: int, seed: int, epoch: datetime, *, long: bool
) -> SimConversation:
    conv = corpus.conversation(index, seed=zlib.crc32(f"{seed}:{page_id}:{platform}".encode()))
    turns = list(conv.turns)
    if long:
        while len(turns) < 45:
            turns.extend(conv.turns)
        turns = turns[:45]
    prefix = "m" if platform == "messenger" else "i"
    customer = f"{prefix}{zlib.crc32(f'{page_id}:{seed}'.encode()) % 10_000:04d}{index:06d}"
    return SimConversation(
        id=f"t_{page_id}_{prefix}{index}",
        customer_id=customer,
        customer_name=conv.customer_name,
        username=conv.customer_name.lower().replace(" ", "."),
        updated=epoch - timedelta(hours=index),
        turns=turns,
    )


def graph_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S+0000")


def encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"i:{index}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    padded = cursor + "=" * (-len(cursor) % 4)
    return int(base64.urlsafe_b64decode(padded).decode().split(":", 1)[1])


def graph_error(
    code: int, message: str, type_: str, *, subcode: int | None = None, headers: dict[str, str] | None = None
) -> Response:
    err: dict[str, Any] = {"message": message, "type": type_, "code": code, "fbtrace_id": "AbCdEfGhIjK"}
    if subcode is not None:
        err["error_subcode"] = subcode
    return Response(
        orjson.dumps({"error": err}), status_code=400, media_type="application/json", headers=headers or {}
    )
