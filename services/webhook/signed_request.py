"""Meta's `signed_request` (deauthorize and data-deletion callbacks): verify, then decode.

`signed_request` = base64url(HMAC-SHA256 of the encoded payload, keyed with the app secret) "."
base64url(JSON payload), both without `=` padding. The signature is compared in constant time
before the payload is parsed; anything malformed or signed with another key is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import orjson

from shared.errors import BadSignedRequest

MAX_LENGTH = 8192


def _b64(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise BadSignedRequest("not base64url") from None


def verify(signed: str | None, secrets: list[bytes]) -> dict[str, Any]:
    """The payload of a `signed_request` any of `secrets` signed; BadSignedRequest otherwise."""
    if not signed or len(signed) > MAX_LENGTH or signed.count(".") != 1:
        raise BadSignedRequest("missing or malformed")
    sig_part, payload_part = signed.split(".")
    signature = _b64(sig_part)
    if not any(
        hmac.compare_digest(
            signature, hmac.new(key, payload_part.encode("ascii", "replace"), hashlib.sha256).digest()
        )
        for key in secrets
    ):
        raise BadSignedRequest("bad signature")
    try:
        payload = orjson.loads(_b64(payload_part))
    except orjson.JSONDecodeError:
        raise BadSignedRequest("payload is not JSON") from None
    if not isinstance(payload, dict) or str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        raise BadSignedRequest("not an HMAC-SHA256 request")
    user_id = payload.get("user_id")
    if not isinstance(user_id, (str, int)) or not str(user_id).isascii() or not str(user_id).isdigit():
        raise BadSignedRequest("no user_id")
    return payload
