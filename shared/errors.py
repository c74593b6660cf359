"""The two kinds of failure a consumer cares about, mapped to broker outcomes in one place."""

from __future__ import annotations


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
