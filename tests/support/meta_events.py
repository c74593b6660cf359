"""Webhook bodies as Meta sends them (compact JSON), for tests that deliver to a running stack."""

from __future__ import annotations

import json

import httpx

from services.webhook.signature import sign

# A page reply that confirms a sale (what moves a contact to WON by the rules).
CONFIRMATION = "Payment received, thank you! Your order is confirmed."


def page_entry(page: str, ts_ms: int, *messaging: dict[str, object]) -> dict[str, object]:
    """A Messenger webhook body: one entry of `page` holding the `messaging` items."""
    return {"object": "page", "entry": [{"id": page, "time": ts_ms, "messaging": list(messaging)}]}


def _messaging(page: str, ts_ms: int, sender: str, recipient: str, message: dict[str, object]) -> bytes:
    """One Messenger item of a page's entry, as compact JSON."""
    item = {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ts_ms, "message": message}
    return json.dumps(page_entry(page, ts_ms, item), separators=(",", ":")).encode()


def messenger_event(page: str, user: str, mid: str, text: str, ts_ms: int) -> bytes:
    """A customer's Messenger message to the page."""
    return _messaging(page, ts_ms, user, page, {"mid": mid, "text": text})


def messenger_echo(page: str, user: str, mid: str, text: str, ts_ms: int) -> bytes:
    """The page's own reply, as Meta echoes it (sender and recipient swapped)."""
    return _messaging(page, ts_ms, page, user, {"mid": mid, "text": text, "is_echo": True})


async def deliver(
    client: httpx.AsyncClient, body: bytes, secret: str | bytes, url: str = ""
) -> httpx.Response:
    """POST `body` to the webhook signed with `secret`, as Meta delivers it."""
    key = secret.encode() if isinstance(secret, str) else secret
    return await client.post(
        f"{url}/webhooks/meta",
        content=body,
        headers={"X-Hub-Signature-256": sign(body, key), "Content-Type": "application/json"},
    )
