"""The webhook's Prometheus metrics (leadsync_webhook_*), shared by the endpoint and the batcher."""

from __future__ import annotations

import functools

from prometheus_client import Counter, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

EVENTS = Counter(
    "leadsync_webhook_events_total",
    "Webhook items received, by platform and kind (message, echo, edit, unsend, postback, read, "
    "delivery, reaction, optin, changes, unknown_account, …).",
    ["platform", "kind"],
)
REJECTED = Counter(
    "leadsync_webhook_rejected_total",
    "Webhook requests answered with an error status, by reason.",
    ["reason"],
)
REQUEST_SECONDS = Histogram(
    "leadsync_webhook_request_seconds",
    "Time to answer a POST /webhooks/meta, by status code.",
    ["status"],
    buckets=LATENCY_BUCKETS,
)
PUBLISH_SECONDS = Histogram(
    "leadsync_webhook_publish_seconds",
    "Time a request waited for RabbitMQ to confirm its events (batching included).",
    buckets=LATENCY_BUCKETS,
)
AUTH_FAILURES = Counter(
    "leadsync_auth_failures_total",
    "Failed authentications (wrong or missing admin token, and attempts refused by the "
    "throttle), by surface: api (the bearer token) or ops_login (the console's sign-in form).",
    ["surface"],
)
BATCH_ITEMS = Histogram(
    "leadsync_webhook_batch_items",
    "ConversationUpdated items per confirmed batch publish.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)


# prometheus-client's labels() takes a lock and builds a tuple per call; the hot path reuses
# the children (the label sets are small and fixed).
@functools.cache
def events(platform: str, kind: str) -> Counter:
    return EVENTS.labels(platform, kind)


@functools.cache
def request_seconds(status: int) -> Histogram:
    return REQUEST_SECONDS.labels(str(status))
