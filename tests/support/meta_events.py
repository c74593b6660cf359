"""Webhook bodies as Meta sends them (compact JSON), for tests that deliver to a running stack."""

from __future__ import annotations

import json

# A page reply that confirms a sale (what moves a contact to WON by the rules).
CONFIRMATION = "Payment received, thank you! Your order is confirmed."


def messenger_event(page: str, user: str, mid: str, text: str, ts_ms: int) -> bytes:
    """A customer's Messenger message to the page."""
    body = {
        "object": "page",
        "entry": [{
            "id": page, "time": ts_ms,
            "messaging": [{
                "sender": {"id": user}, "recipient": {"id": page}, "timestamp": ts_ms,
                "message": {"mid": mid, "text": text},
            }],
        }],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def messenger_echo(page: str, user: str, mid: str, text: str, ts_ms: int) -> bytes:
    """The page's own reply, as Meta echoes it (sender and recipient swapped)."""
    body = {"object": "page", "entry": [{"id": page, "time": ts_ms, "messaging": [{
        "sender": {"id": page}, "recipient": {"id": user}, "timestamp": ts_ms,
        "message": {"mid": mid, "text": text, "is_echo": True}}]}]}
    return json.dumps(body, separators=(",", ":")).encode()
