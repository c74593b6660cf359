"""Throttling of failed authentication per client address: a sliding window (pure, no clock).

After LIMIT failures within WINDOW_S from one address, every attempt from it is refused (429
with Retry-After) until the oldest of those failures is WINDOW_S old; the refused attempts are
not checked at all, so guessing gains nothing. The admin API and the console login share it.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque

import structlog

from services.webhook.metrics import AUTH_FAILURES

LIMIT = 10
WINDOW_S = 60.0
MAX_CLIENTS = 10_000

log = structlog.get_logger("leadsync.webhook.auth")


class FailureThrottle:
    def __init__(
        self, limit: int = LIMIT, window_s: float = WINDOW_S, max_clients: int = MAX_CLIENTS
    ) -> None:
        self._limit = limit
        self._window = window_s
        self._max = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str, now: float) -> int | None:
        """Seconds until `client` may try again, or None when it may try now."""
        times = self._recent(client, now)
        if len(times) < self._limit:
            return None
        return max(math.ceil(times[0] + self._window - now), 1)

    def failed(self, client: str, now: float, *, surface: str) -> None:
        """Record (count and log) one failed authentication; never given the presented secret."""
        AUTH_FAILURES.labels(surface).inc()
        times = self._recent(client, now)
        times.append(now)
        self._failures[client] = times
        self._failures.move_to_end(client)
        while len(self._failures) > self._max:  # an address flood must not grow memory
            self._failures.popitem(last=False)
        log.warning("auth.failed", surface=surface, client=client, failures_in_window=len(times))

    def refused(self, client: str, *, surface: str) -> None:
        """Count an attempt refused by the throttle (logged once, when the address is blocked)."""
        AUTH_FAILURES.labels(surface).inc()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.get(client, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times
