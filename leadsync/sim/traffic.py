"""Signed, realistic Meta webhook deliveries drawn from the corpus, for `simulate`, tests and demos.

Bodies are written the way Meta writes them (compact JSON, non-ASCII as \\u escapes, "/" as "\\/")
so that signature checks are exercised on the same bytes a real delivery has.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from leadsync.sim.corpus import Conversation, conversation
from services.webhook.signature import sign

Platform = Literal["messenger", "instagram"]
OBJECTS = {"messenger": "page", "instagram": "instagram"}
BURST = 3  # at most this many customer lines arrive in one delivery


def meta_json(body: Any) -> bytes:
    """JSON as Meta sends it; "/" only occurs inside strings, so replacing it is safe."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


@dataclass(frozen=True)
class Delivery:
    """One webhook POST: its body and how many items of each kind it carries."""

    platform: Platform
    body: bytes
    kinds: Counter[str]

    @property
    def messages(self) -> int:
        """Items that end up stored as messages (customer messages and echoes)."""
        return self.kinds["message"] + self.kinds["echo"]

    def headers(self, secret: bytes) -> dict[str, str]:
        # Real deliveries still carry the legacy SHA-1 header next to the SHA-256 one.
        legacy = hmac.new(secret, self.body, hashlib.sha1).hexdigest()
        return {
            "Content-Type": "application/json",
            "X-Hub-Signature": f"sha1={legacy}",
            "X-Hub-Signature-256": sign(self.body, secret),
        }


def envelope(platform: Platform, account_id: str, items: list[dict[str, Any]], ts_ms: int) -> bytes:
    """The body of a delivery: one entry of `account_id` holding `items`."""
    entry = {"id": account_id, "time": ts_ms, "messaging": items}
    return meta_json({"object": OBJECTS[platform], "entry": [entry]})


def message_item(
    account_id: str,
    contact_id: str,
    mid: str,
    ts_ms: int,
    *,
    text: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    echo: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A `messaging[]` item carrying a message; echoes come from the account to the customer."""
    message: dict[str, Any] = {"mid": mid}
    if echo:
        message["is_echo"] = True
    if text is not None:
        message["text"] = text
    if attachments:
        message["attachments"] = attachments
    message.update(extra)
    sender, recipient = (account_id, contact_id) if echo else (contact_id, account_id)
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ts_ms, "message": message}


def _mid(platform: Platform, *parts: object) -> str:
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:40]
    return ("m_" if platform == "messenger" else "aWdfZAG1faXRlbToxOklHTWVzc2FnZAU") + digest


def contact_id(platform: Platform, index: int) -> str:
    """A PSID (16 digits) or IGSID (17 digits) for the corpus conversation `index`."""
    return str((6_100_000_000_000_000 if platform == "messenger" else 17_800_000_000_000_000) + index)


def conversation_deliveries(
    conv: Conversation, platform: Platform, account_id: str, start_ms: int, seed: int = 0
) -> Iterator[Delivery]:
    """A conversation as Meta would deliver it: customer bursts, echoes, delivery and read items."""
    rng = random.Random(f"traffic:{seed}:{conv.index}")
    customer = contact_id(platform, conv.index)
    ts = start_ms + conv.index * 60_000
    turn = 0
    pending: list[dict[str, Any]] = []
    kinds: Counter[str] = Counter()

    def flush() -> Delivery:
        nonlocal pending, kinds
        delivery = Delivery(platform, envelope(platform, account_id, pending, ts), kinds)
        pending, kinds = [], Counter()
        return delivery

    for from_page, text in conv.turns:
        ts += rng.randint(2_000, 40_000)
        turn += 1
        mid = _mid(platform, seed, conv.index, turn)
        if from_page:
            if pending:
                yield flush()
            pending.append(message_item(account_id, customer, mid, ts, text=text, echo=True))
            kinds["echo"] += 1
            yield flush()
            # The customer's app reports the reply delivered, then read.
            ts += rng.randint(500, 5_000)
            receipt = {"sender": {"id": customer}, "recipient": {"id": account_id}, "timestamp": ts}
            if platform == "messenger":
                pending.append({**receipt, "delivery": {"mids": [mid], "watermark": ts}})
                kinds["delivery"] += 1
                pending.append({**receipt, "read": {"watermark": ts}})
            else:
                pending.append({**receipt, "read": {"mid": mid}})
            kinds["read"] += 1
            yield flush()
            continue
        extra: dict[str, Any] = {}
        if platform == "instagram" and turn == 1 and rng.random() < 0.3:
            # Instagram conversations often start as a reply to one of the account's stories.
            extra["reply_to"] = {"story": {"url": f"https://lookaside.fbsbx.com/s/{mid}", "id": mid[-12:]}}
        pending.append(message_item(account_id, customer, mid, ts, text=text, **extra))
        kinds["message"] += 1
        if rng.random() < 0.15:
            # A photo sent on its own, the way customers show what they mean.
            photo = {"type": "image", "payload": {"url": f"https://cdn.example.com/p/{mid}.jpg"}}
            turn += 1
            pending.append(
                message_item(
                    account_id,
                    customer,
                    _mid(platform, seed, conv.index, turn),
                    ts + 1_000,
                    attachments=[photo],
                )
            )
            kinds["message"] += 1
        if len(pending) >= BURST or rng.random() < 0.5:
            yield flush()
    if pending:
        yield flush()


def deliveries(
    count: int,
    *,
    platform: Platform | Literal["both"] = "messenger",
    page_id: str = "PAGE_SIM",
    ig_account_id: str = "IG_SIM",
    start_ms: int,
    seed: int = 0,
) -> Iterator[Delivery]:
    """`count` deliveries walking through corpus conversations (alternating platforms for both)."""
    sent = 0
    index = 0
    while sent < count:
        plat: Platform = platform if platform != "both" else ("messenger", "instagram")[index % 2]
        account = page_id if plat == "messenger" else ig_account_id
        for delivery in conversation_deliveries(
            conversation(index, seed=seed), plat, account, start_ms, seed
        ):
            yield delivery
            sent += 1
            if sent >= count:
                return
        index += 1
