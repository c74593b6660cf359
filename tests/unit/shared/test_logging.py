"""The log redactor masks secrets wherever they appear in a log line."""

from __future__ import annotations

import json

import structlog
from hypothesis import given
from hypothesis import strategies as st

from shared import logging as ls_logging
from shared.logging import Redactor


def test_known_secret_values_are_masked_inside_any_text():
    r = Redactor(["app-secret-123456"])
    assert r.scrub("hmac with app-secret-123456 failed") == "hmac with *** failed"


def test_graph_urls_bearer_headers_and_url_passwords_are_masked():
    r = Redactor()
    url = "https://graph.facebook.com/v25.0/123/conversations?access_token=EAAB123&after=x"
    assert "EAAB123" not in r.scrub(url)
    assert r.scrub("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer ***"
    assert r.scrub("amqp://leadsync:pa55word@rabbit:5672/") == "amqp://leadsync:***@rabbit:5672/"


def test_secret_named_keys_are_masked_whatever_their_value():
    r = Redactor()
    event = r(None, "info", {"event": "page.added", "access_token": "whatever", "page_id": "1"})
    assert event == {"event": "page.added", "access_token": "***", "page_id": "1"}
    nested = r(None, "info", {"event": "x", "request": {"headers": {"Authorization": "Bearer y"}}})
    assert nested["request"]["headers"]["Authorization"] == "***"


@given(st.text(min_size=0, max_size=40), st.text(min_size=0, max_size=40))
def test_a_registered_secret_never_survives_in_a_message(prefix, suffix):
    secret = "Zq9-secret-value-77"
    r = Redactor([secret])
    assert secret not in r.scrub(prefix + secret + suffix)


def test_configured_logger_writes_json_lines_without_secrets(capsys):
    ls_logging.configure(service="test", fmt="json", level="info", secrets=["tok-ABCDEFGH"])
    try:
        structlog.get_logger("t").info(
            "call.failed", url="https://x/?access_token=EAAxyz", note="tok-ABCDEFGH"
        )
        line = capsys.readouterr().err.strip().splitlines()[-1]
        record = json.loads(line)
        assert record["service"] == "test" and record["event"] == "call.failed"
        assert "EAAxyz" not in line and "tok-ABCDEFGH" not in line
    finally:
        structlog.reset_defaults()
