"""The retry policy: which failures retry, for how long, and which go to the dead-letter queue."""

from __future__ import annotations

import random

import asyncpg
import pytest

from shared import retry
from shared.errors import BrokerUnavailable, DecodeError, PermanentError, RetryableError


@pytest.mark.parametrize(
    ("err", "kind", "reason"),
    [
        (DecodeError("not JSON"), "permanent", "permanent"),
        (PermanentError("unknown job"), "permanent", "permanent"),
        (ConnectionRefusedError(111, "refused"), "transient", "database_unavailable"),
        (asyncpg.CannotConnectNowError("starting up"), "transient", "database_unavailable"),
        (asyncpg.AdminShutdownError("terminating connection"), "transient", "database_unavailable"),
        (
            asyncpg.exceptions.ObjectNotInPrerequisiteStateError("not accepting connections"),
            "transient",
            "database_unavailable",
        ),
        (asyncpg.TooManyConnectionsError("too many"), "transient", "database_unavailable"),
        (asyncpg.ConnectionDoesNotExistError("closed"), "transient", "database_unavailable"),
        (asyncpg.InterfaceError("pool is closing"), "transient", "database_unavailable"),
        (asyncpg.SerializationError("could not serialize"), "transient", "database_conflict"),
        (asyncpg.DeadlockDetectedError("deadlock"), "transient", "database_conflict"),
        (TimeoutError(), "transient", "timeout"),
        (BrokerUnavailable("no confirm"), "transient", "broker_unavailable"),
        (RetryableError("shutting down"), "transient", "retryable"),
        (KeyError("a bug"), "unknown", "error"),
        (asyncpg.UniqueViolationError("dup"), "unknown", "error"),
    ],
)
def test_classification(err, kind, reason):
    assert retry.classify(err) == (kind, reason)


def test_transient_failures_back_off_and_retry_until_the_budget_is_spent():
    state, now = retry.RetryState(), 1000.0
    delays = []
    for _ in range(12):
        d = retry.decide(ConnectionResetError(), state, now=now, budget_s=3600, rng=random.Random(1))
        assert d.action == "retry"
        delays.append(d.delay_s)
        state, now = d.state, now + d.delay_s
    assert 0.75 <= delays[0] <= 1 and 1.5 <= delays[1] <= 2 and 225 <= delays[-1] <= 300
    assert state.first_failure == 1000.0 and state.attempt == 12
    late = retry.decide(ConnectionResetError(), state, now=1000.0 + 3600, budget_s=3600)
    assert late.action == "dead" and "retry budget of 3600s" in late.why_dead


def test_the_same_unexpected_error_five_times_in_a_row_is_dead_and_another_resets_the_count():
    state = retry.RetryState()
    for _ in range(retry.MAX_SAME_ERROR - 1):
        state = retry.decide(ValueError("bad row 7"), state, now=0).state
    other = retry.decide(ValueError("bad row 8"), state, now=0)
    assert other.action == "retry" and other.state.same_error == 1
    state = other.state
    for _ in range(retry.MAX_SAME_ERROR - 1):
        state = retry.decide(ValueError("bad row 7"), state, now=0).state
    final = retry.decide(ValueError("bad row 7"), state, now=0)
    assert final.action == "dead" and "5 times in a row" in final.why_dead
    # Transient failures in between neither count nor reset it.
    assert retry.decide(TimeoutError(), state, now=0).state.same_error == state.same_error


def test_the_state_survives_a_trip_through_amqp_headers():
    state = retry.RetryState(
        attempt=3,
        first_failure=1764028800.123,
        same_error=2,
        last_error="KeyError: 'x'",
        routing_key="conversation.updated.messenger",
        dead_reason="boom",
        dead_type="KeyError",
    )
    back = retry.RetryState.from_headers(state.headers())
    assert back == retry.RetryState(
        3, 1764028800.123, 2, "KeyError: 'x'", "conversation.updated.messenger", "boom", "KeyError"
    )
    assert all(isinstance(v, int | str | bool) for v in state.headers().values())  # no AMQP floats
    assert retry.RetryState.from_headers({"v": 1}) == retry.RetryState()


def test_each_delay_fits_the_delay_queue_it_goes_to():
    for attempt in range(1, 15):
        delay = retry.backoff(attempt)
        assert delay <= retry.step_for(delay) and retry.step_for(delay) in retry.STEPS_S
