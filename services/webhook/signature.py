"""Checks Meta's X-Hub-Signature-256 over the exact raw request bytes (pure, no I/O)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

_HEADER = re.compile(r"sha256=([0-9a-f]{64})")


def sign(body: bytes, secret: bytes) -> str:
    """The header value Meta would send for `body` (used by the simulator and tests)."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class Verifier:
    """Checks signatures under every configured app secret; each secret's HMAC key is prepared
    once (copying a keyed HMAC is cheaper than keying a new one for every delivery)."""

    def __init__(self, secrets: Sequence[bytes]) -> None:
        self._keys = [hmac.new(secret, digestmod=hashlib.sha256) for secret in secrets]

    def problem(self, body: bytes, header: str | None) -> str | None:
        """None when the header is a SHA-256 signature of `body` under any secret, else why not."""
        if not header:
            return "unsigned"
        match = _HEADER.fullmatch(header.strip().lower())
        # Reject non-hex values before compare_digest, which raises on non-ASCII str input.
        if match is None:
            return "malformed_signature"
        given = bytes.fromhex(match.group(1))
        ok = False
        for key in self._keys:
            mac = key.copy()
            mac.update(body)
            # No early exit: the time taken does not depend on which secret matched.
            ok |= hmac.compare_digest(mac.digest(), given)
        return None if ok else "bad_signature"
