"""Every exception leadsync raises, in one tree, and the one tuple of database errors.

A consumer's failure is retryable or permanent (shared/retry.py maps the two sides to broker
outcomes); the rest of the tree says where a failure came from, so a caller catches one class.

    LeadsyncError
    ├── RetryableError ............. passing: back off and let the message come back
    │   ├── BrokerUnavailable ...... RabbitMQ unreachable, or a publish not confirmed in time
    │   │   └── PublishNotConfirmed  RabbitMQ refused (nack) or returned (unroutable) a publish
    │   ├── RateLimited ............ Graph codes 4, 17, 32, 613…: wait, then go on   (GraphError)
    │   └── TemporaryError ......... Graph codes 1, 2, HTTP 5xx, network              (GraphError)
    ├── PermanentError ............. the message can never succeed: dead-letter it at once
    │   ├── DecodeError ............ a body that is not a valid message of its type
    │   ├── TokenInvalid ........... Graph code 190: the page must be reconnected     (GraphError)
    │   └── TooMuchData ............ Graph code 1 on nested fields: ask for less      (GraphError)
    ├── GraphError ................. a Graph API failure; its text is safe to store
    ├── StoreError ................. the tables refused a change, said in one line
    │   ├── NotFound ............... it names a row that does not exist        (HTTP 404)
    │   ├── Conflict ............... it collides with a row that does          (HTTP 409)
    │   └── Invalid ................ well-formed, but the rules refuse it      (HTTP 422)
    ├── MigrationError ............. a migration file or the schema's history is wrong
    ├── ClaimLost .................. another backfill worker took the job over (or it was cancelled)
    ├── DeadLettered ............... a final-failure hook running again after it failed to write
    ├── LlmError
    │   ├── InvalidReply ........... the model answered, but not with a valid Analysis
    │   └── LlmFailed .............. every attempt failed (the analyzer falls back)
    ├── UnknownVersion ............. a prompt version this analyzer cannot score with
    ├── DeadLetterError ............ a dead-letter operation that cannot go on
    ├── DemoError .................. a step of the demo failed
    ├── BadSignedRequest ........... a Meta signed_request that does not verify
    ├── ConnectError ............... connecting pages failed in a way the person can act on
    ├── CommandError ............... a `leadsync` command's failure: one line, exit status 1
    └── ApiError ................... an admin API answer with its status (services/webhook/api/errors.py)

Two exceptions stay outside the tree because a library requires their base: `ConfigError`
(a `SystemExit`, so a service stops with one line) and `PublishedSecret` (a `ValueError`, so
pydantic reports it as a settings error), both in shared/settings.py. Where a class also was a
builtin error before (`DecodeError`, `UnknownVersion`: `ValueError`; `MigrationError`:
`RuntimeError`) it still is, so no existing `except` changes meaning.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg

# The database is unreachable or refused the statement: what every "the database failed, say so
# and go on" handler catches. Socket errors are OSError; a closed connection or a closing pool
# is an InterfaceError; anything the server answered with is a PostgresError.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)

_TOKEN_IN_TEXT = re.compile(r"(access_token=)[^&\s\"']+", re.IGNORECASE)


class LeadsyncError(Exception):
    """Base of the project's own errors."""


class RetryableError(LeadsyncError):
    """A passing failure (broker, database, network): nack and let the message come back."""


class PermanentError(LeadsyncError):
    """The message can never succeed (bad shape, unknown version): dead-letter it at once."""


class BrokerUnavailable(RetryableError):
    """RabbitMQ could not be reached or did not confirm a publish."""


class PublishNotConfirmed(BrokerUnavailable):
    """RabbitMQ refused (nack) or returned (unroutable) a publish."""


class DecodeError(PermanentError, ValueError):
    """A body that is not a valid message of the expected type; never worth redelivering."""


class GraphError(LeadsyncError):
    """A Graph API failure that is not worth repeating as is; its text is safe to store."""

    def __init__(
        self, message: str, code: int | None, *, subcode: int | None = None, fbtrace_id: str | None = None
    ) -> None:
        self.message = _TOKEN_IN_TEXT.sub(r"\1***", message)
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        super().__init__(self.message)


class TokenInvalid(GraphError, PermanentError):
    """Code 190: the page token expired or was invalidated; the page must be reconnected."""


class RateLimited(GraphError, RetryableError):
    """Codes 4, 17, 32, 613… or usage at 100 %: wait (retry_after seconds when Meta says) and go on."""

    def __init__(self, message: str, code: int | None, *, retry_after: float = 0.0, **kw: Any) -> None:
        super().__init__(message, code, **kw)
        self.retry_after = retry_after


class TemporaryError(GraphError, RetryableError):
    """Codes 1, 2, HTTP 5xx and network failures: retried with backoff."""


class TooMuchData(GraphError, PermanentError):
    """Code 1 on a request with nested fields: ask for less (smaller pages)."""


class StoreError(LeadsyncError):
    """A change the tables refused; `field` names the input at fault (the API's `field`)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(StoreError):
    """The change names a row that does not exist."""


class Conflict(StoreError):
    """The change collides with a row that exists."""


class Invalid(StoreError):
    """Well-formed, but the rules refuse it (e.g. more stages than a score band can split)."""


class MigrationError(LeadsyncError, RuntimeError):
    """A migration file or the recorded history of applied migrations is wrong."""


class ClaimLost(LeadsyncError):
    """Another worker took the job over (or it was cancelled): stop without writing more."""


class DeadLettered(LeadsyncError):
    """The error a final-failure hook receives when it runs again after failing to write."""


class LlmError(LeadsyncError):
    """The LLM did not give a usable analysis."""


class InvalidReply(LlmError):
    """The model answered, but not with a valid Analysis."""


class LlmFailed(LlmError):
    """Every attempt failed; `reason` names the last failure (the caller falls back)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownVersion(LeadsyncError, ValueError):
    """A prompt version this analyzer cannot score with (one line for the job's error)."""


class DeadLetterError(LeadsyncError):
    """A dead-letter operation that cannot go on; the message says what to do."""


class DemoError(LeadsyncError):
    """A step of the demo failed; the message says which and why."""


class BadSignedRequest(LeadsyncError, ValueError):
    """A Meta `signed_request` missing, malformed, not HMAC-SHA256, or signed with another key."""


class ConnectError(LeadsyncError):
    """Connecting pages failed in a way the person can act on (Meta refused, or leadsync is not
    set up to connect); `status` is the HTTP answer the API and the console give."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class CommandError(LeadsyncError):
    """A failure of a `leadsync` command, reported as one line with exit status 1."""
