"""Signature checks over raw bytes: several secrets, malformed headers, Meta's escaped JSON."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadsync.sim.traffic import meta_json
from services.webhook.signature import Verifier, sign

FB, IG = b"facebook-secret", b"instagram-secret"


def problem(body: bytes, header: str | None, secrets: list[bytes]) -> str | None:
    return Verifier(secrets).problem(body, header)


def verify(body: bytes, header: str | None, secrets: list[bytes]) -> bool:
    return problem(body, header, secrets) is None


def test_any_configured_secret_verifies():
    body = b'{"object":"instagram"}'
    assert verify(body, sign(body, IG), [FB, IG])
    assert verify(body, sign(body, FB), [FB, IG])
    assert not verify(body, sign(body, b"other"), [FB, IG])


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "unsigned"),
        ("", "unsigned"),
        ("sha1=" + hashlib.sha1(b"x").hexdigest(), "malformed_signature"),
        ("sha256=" + "z" * 64, "malformed_signature"),
        ("sha256=" + "é" * 64, "malformed_signature"),
        ("sha256=abc", "malformed_signature"),
        ("sha256=" + "0" * 64, "bad_signature"),
    ],
)
def test_bad_headers_say_why(header, reason):
    assert problem(b"{}", header, [FB]) == reason


def test_signature_is_over_the_escaped_bytes_not_reserialised_json():
    body = meta_json({"text": "¿Cuánto? 😊 https://x.example/a"})
    assert b"\\u00bf" in body and b"\\/" in body
    assert verify(body, sign(body, FB), [FB])
    reserialised = '{"text": "¿Cuánto? 😊 https://x.example/a"}'.encode()
    assert not verify(reserialised, sign(body, FB), [FB])


@given(st.binary(max_size=200), st.text(max_size=80))
def test_random_headers_never_raise_and_only_the_real_signature_passes(body, header):
    real = "sha256=" + hmac.new(FB, body, hashlib.sha256).hexdigest()
    assert verify(body, header, [FB]) == (header.strip().lower() == real)
