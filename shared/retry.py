"""The retry policy of every consumer (DESIGN §4), pure: classify a failure, choose what happens next.

```
failure ──classify──▶ permanent  (bad message, PermanentError, schema from the future) ─▶ dead
                  ├─▶ transient  (database/broker away, timeouts, conflicts)  ─▶ back off, retry
                  │      └ database_unavailable: the consumer's circuit opens (pause, probe, resume)
                  └─▶ unknown    (a bug?)  ─▶ back off, retry; the same error MAX_SAME_ERROR times ─▶ dead
every retry ends when RETRY_BUDGET_S has passed since the first failure ─▶ dead
```

A retry travels through a delay queue (`{queue}.delay.{step}s`, a TTL that dead-letters back
to the queue), carrying its state in headers, so it never spends the quorum delivery limit;
that limit (5) is left to count deliveries a process crashed on.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import aiormq
import asyncpg

from shared.errors import BrokerUnavailable, PermanentError, RetryableError
from shared.headers import header_int, header_text

# Delay queues, one per backoff step: 1 s doubling to 5 min.
STEPS_S: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 300)
MAX_SAME_ERROR = 5
DEFAULT_BUDGET_S = 86_400.0

# Headers a retried message carries (x-leadsync-* so `leadsync dlq replay` strips them).
ATTEMPT = "x-leadsync-attempt"
# Epoch milliseconds of the first failure: an integer, because AMQP tables carry floats as
# 32-bit, which would blur a timestamp by minutes.
FIRST_FAILURE = "x-leadsync-first-failure-ms"
SAME_ERROR = "x-leadsync-same-error"  # consecutive non-transient failures with one signature
LAST_ERROR = "x-leadsync-last-error"
ROUTING_KEY = "x-leadsync-routing-key"
# Decided dead (the reason and error type), but its final-failure hook must be written first.
DEAD_REASON = "x-leadsync-dead-reason"
DEAD_TYPE = "x-leadsync-dead-type"

Kind = Literal["transient", "permanent", "unknown"]

# The database is away (refusing, restarting, not accepting this database, connection lost).
_DB_AWAY: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError, ConnectionResetError, socket errors
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, ConnectionDoesNotExistError
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
    asyncpg.exceptions.OperatorInterventionError,  # 57P01 admin shutdown, 57P03 starting up
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError,  # 55000 not accepting connections
    asyncpg.exceptions.InsufficientResourcesError,  # 53300 too many connections, disk full
)
_DB_CONFLICT: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.SerializationError,  # 40001
    asyncpg.exceptions.DeadlockDetectedError,  # 40P01
    asyncpg.exceptions.LockNotAvailableError,  # 55P03
)
# Reasons that may mean the database is away: the circuit probes it to tell.
SUSPECT_DATABASE = ("database_unavailable", "timeout")


def classify(err: BaseException) -> tuple[Kind, str]:
    """The kind of a failure and its reason (the metric label)."""
    if isinstance(err, PermanentError):
        return "permanent", "permanent"
    if isinstance(err, _DB_CONFLICT):
        return "transient", "database_conflict"
    if isinstance(err, asyncpg.exceptions.QueryCanceledError):
        return "transient", "timeout"
    if isinstance(err, BrokerUnavailable | aiormq.exceptions.AMQPError):
        return "transient", "broker_unavailable"
    if isinstance(err, RetryableError):
        return "transient", "retryable"
    if isinstance(err, TimeoutError):  # before OSError, of which it is a subclass
        return "transient", "timeout"
    if isinstance(err, _DB_AWAY):
        return "transient", "database_unavailable"
    return "unknown", "error"


def signature(err: BaseException) -> str:
    """What makes two failures "the same error": its type and the start of its text."""
    return f"{type(err).__name__}: {err}"[:200]


def describe(err: BaseException) -> str:
    return str(err) or type(err).__name__


@dataclass(frozen=True)
class RetryState:
    """What a message's earlier failures were, read from (and written to) its headers."""

    attempt: int = 0  # failures so far
    first_failure: float | None = None
    same_error: int = 0
    last_error: str = ""
    routing_key: str | None = None
    dead_reason: str = ""
    dead_type: str = ""

    @property
    def settle_first(self) -> bool:
        """A dead-letter decision is pending its final-failure hook (it failed to write before)."""
        return bool(self.dead_reason)

    @classmethod
    def from_headers(cls, headers: Mapping[str, Any]) -> RetryState:
        if ATTEMPT not in headers:
            return _FRESH
        try:
            first = headers.get(FIRST_FAILURE)
            return cls(
                attempt=header_int(headers, ATTEMPT),
                first_failure=header_int(headers, FIRST_FAILURE) / 1000 if first is not None else None,
                same_error=header_int(headers, SAME_ERROR),
                last_error=header_text(headers, LAST_ERROR) or "",
                routing_key=header_text(headers, ROUTING_KEY),
                dead_reason=header_text(headers, DEAD_REASON) or "",
                dead_type=header_text(headers, DEAD_TYPE) or "",
            )
        except ValueError:
            return _FRESH

    def headers(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            ATTEMPT: self.attempt,
            SAME_ERROR: self.same_error,
            LAST_ERROR: self.last_error[:200],
        }
        if self.first_failure is not None:
            out[FIRST_FAILURE] = int(self.first_failure * 1000)
        if self.routing_key:
            out[ROUTING_KEY] = self.routing_key
        if self.dead_reason:
            out[DEAD_REASON] = self.dead_reason[:1000]
            out[DEAD_TYPE] = self.dead_type
        return out


_FRESH = RetryState()


Action = Literal["retry", "dead"]


@dataclass(frozen=True)
class Decision:
    action: Action
    kind: Kind
    reason: str  # metric label: database_unavailable, broker_unavailable, timeout, error, …
    state: RetryState  # the state after this failure (what the retried copy carries)
    delay_s: float = 0.0
    why_dead: str = ""


def decide(
    err: BaseException,
    state: RetryState,
    *,
    now: float,
    budget_s: float = DEFAULT_BUDGET_S,
    rng: random.Random | None = None,
) -> Decision:
    """What to do with a message that just failed with `err`, given its earlier failures."""
    kind, reason = classify(err)
    text = describe(err)
    if kind == "permanent":
        return Decision("dead", kind, reason, state, why_dead=text)
    first = state.first_failure if state.first_failure is not None else now
    sig = signature(err)
    if kind == "unknown":
        same = state.same_error + 1 if sig == state.last_error else 1
    else:
        same = state.same_error
    after = replace(
        state,
        attempt=state.attempt + 1,
        first_failure=first,
        same_error=same,
        last_error=sig if kind == "unknown" else state.last_error,
    )
    if kind == "unknown" and same >= MAX_SAME_ERROR:
        return Decision(
            "dead", kind, reason, after, why_dead=f"{text} (the same error {same} times in a row)"
        )
    if now - first >= budget_s:
        return Decision(
            "dead",
            kind,
            reason,
            after,
            why_dead=f"{text} (still failing after the retry budget of {budget_s:g}s)",
        )
    return Decision("retry", kind, reason, after, delay_s=backoff(after.attempt, rng))


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds before retry number `attempt` (1-based): 1, 2, 4 … capped at 300, minus up to 25 % jitter."""
    base = float(min(STEPS_S[-1], 2 ** max(0, attempt - 1)))
    return base * (0.75 + 0.25 * (rng or random).random())


def step_for(delay_s: float) -> int:
    """The delay queue (its TTL in seconds) that holds a message for `delay_s`."""
    return next((s for s in STEPS_S if s >= delay_s), STEPS_S[-1])
