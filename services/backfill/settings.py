"""The backfill service's settings (DESIGN §2 plus BACKFILL_* tuning)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import GraphSettings


class BackfillSettings(GraphSettings):
    DEFAULT_METRICS_PORT: ClassVar[int] = 9103
    # Jobs one process runs at once (each paced by its page's own Graph limit).
    prefetch: int = Field(default=4, ge=1, le=100)
    # Conversations asked per Graph call, each with its newest 20 messages expanded.
    backfill_page_size: int = Field(default=50, ge=1, le=100)
    # Messages kept per Messenger thread; older ones cost one more call per 100.
    backfill_max_messages: int = Field(default=50, ge=20, le=1000)
    # How often a running job proves it is alive and notices a cancel.
    backfill_heartbeat_s: float = Field(default=0.5, gt=0, le=60)
    # A job whose heartbeat is older than this is resumed by another worker.
    backfill_stale_after_s: float = Field(default=30.0, gt=0)
    # An incremental sync also takes threads updated this long before the last sync began:
    # Meta's updated_time has whole seconds, and analysing a thread twice is harmless.
    backfill_incremental_overlap_s: float = Field(default=60.0, ge=0)
    backfill_scheduler_interval_s: float = Field(default=60.0, gt=0)
    # A job whose walk is over but none of whose items settled for this long has lost messages
    # (dead-lettered after crashing a process): its missing items are recorded FAILED and it
    # completes, so the page is never blocked by a job nobody works on.
    backfill_settle_timeout_s: float = Field(default=900.0, gt=0)
    # How often every connected page's token and webhook subscription are checked (DESIGN §3).
    backfill_health_interval_s: float = Field(default=21_600.0, gt=0)
