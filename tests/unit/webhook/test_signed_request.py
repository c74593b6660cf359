"""signed_request verification: Meta's format, any tampering refused before the payload is read."""

from __future__ import annotations

import pytest

from leadsync.sim.meta_app import signed_request
from services.webhook.signed_request import verify
from shared.errors import BadSignedRequest

KEY = "app-secret-for-this-unit-test"
GOOD = {"algorithm": "HMAC-SHA256", "issued_at": 1767225600, "user_id": "10150000000000042"}


def test_a_request_signed_with_the_app_secret_gives_its_payload():
    assert verify(signed_request(GOOD, KEY), [b"other-app", KEY.encode()]) == GOOD


@pytest.mark.parametrize(
    "signed",
    [
        None,
        "",
        ".",
        "a.b.c",
        "%%%.%%%",
        signed_request(GOOD, "someone-elses-secret"),
        signed_request(GOOD, KEY)[:-2] + "fQ",  # payload changed after signing
        signed_request({**GOOD, "algorithm": "HMAC-SHA1"}, KEY),
        signed_request({**GOOD, "user_id": None}, KEY),
        signed_request({**GOOD, "user_id": "١٢٣"}, KEY),  # non-ASCII digits
        "x" * 9000,
    ],
)
def test_anything_else_is_refused(signed):
    with pytest.raises(BadSignedRequest):
        verify(signed, [KEY.encode()])
