"""Meta's errors and usage headers, classified without any I/O."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import GraphError, RateLimited, TemporaryError, TokenInvalid, TooMuchData
from shared.graph_errors import Usage, error_from, slow_down, usage_of

# What each Meta error becomes: kind -> (code, HTTP status, reduce_on_code_1) of the errors it is.
KINDS: dict[type[GraphError], list[tuple[int | None, int, bool]]] = {
    TokenInvalid: [(190, 400, False)],
    RateLimited: [(code, 400, False) for code in (4, 17, 32, 613, 80006)],
    TemporaryError: [(1, 400, False), (2, 400, False), (100, 500, False)],
    TooMuchData: [(1, 400, True)],
    GraphError: [(100, 400, False), (10, 403, False), (230, 400, False), (None, 400, False)],
}


@pytest.mark.parametrize(
    ("code", "status", "reduce", "kind"),
    [(code, status, reduce, kind) for kind, errors in KINDS.items() for code, status, reduce in errors],
)
def test_errors_are_classified_by_code(code, status, reduce, kind):
    err = error_from({"code": code, "message": "m"}, status, Usage(), reduce_on_code_1=reduce)
    assert type(err) is kind
    assert err.code == code


def test_rate_limit_waits_for_metas_estimate_and_tokens_never_show():
    err = error_from(
        {
            "code": 613,
            "error_subcode": 1,
            "message": "see https://x/?access_token=EAAsecret&a=1",
            "fbtrace_id": "Ab",
        },
        400,
        Usage(100, 120),
    )
    assert isinstance(err, RateLimited) and err.retry_after == 120
    assert "EAAsecret" not in str(err) and err.fbtrace_id == "Ab"
    expired = error_from({"code": 190, "error_subcode": 463}, 400, Usage())
    assert str(expired) == "Graph error 190/463" and expired.subcode == 463


def test_usage_is_the_highest_percentage_of_any_header():
    headers = {
        "X-App-Usage": orjson.dumps({"call_count": 12, "total_cputime": 3, "total_time": 40}).decode(),
        "X-Business-Use-Case-Usage": orjson.dumps(
            {"P1": [{"type": "messenger", "call_count": 88, "estimated_time_to_regain_access": 2}]}
        ).decode(),
    }
    lowered = {k.lower(): v for k, v in headers.items()}
    assert usage_of(lowered) == Usage(88, 120)
    assert usage_of({}) == Usage(0, 0)
    assert usage_of({"x-app-usage": "not json", "x-business-use-case-usage": "[1]"}) == Usage(0, 0)


@given(
    st.dictionaries(
        st.sampled_from(["x-app-usage", "x-business-use-case-usage", "x-page-usage"]), st.text(max_size=40)
    )
)
def test_any_header_garbage_reads_as_a_usage_never_an_error(headers):
    usage = usage_of(headers)
    assert usage.percent >= 0 and usage.regain_seconds >= 0


@pytest.mark.parametrize(
    ("percent", "regain", "expected"),
    [
        (0, 0, 0.0),
        (74.9, 0, 0.0),
        (75, 0, 0.0),
        (87.5, 0, 1.0),
        (100, 0, 2.0),
        (250, 0, 2.0),
        (50, 60, 60.0),
        (100, 120, 120.0),
    ],
)
def test_calls_slow_down_as_usage_nears_the_limit(percent, regain, expected):
    assert slow_down(Usage(percent, regain), interval=0.5) == pytest.approx(expected)


@given(st.floats(0, 300), st.floats(0, 300), st.floats(0, 3600))
def test_more_usage_never_means_a_shorter_pause(a, b, regain):
    low, high = sorted((a, b))
    assert slow_down(Usage(low, regain), 0.5) <= slow_down(Usage(high, regain), 0.5)
