"""The backfill service's settings (DESIGN §2)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import GraphSettings

DEFAULT_METRICS_PORT = 9103


class BackfillSettings(GraphSettings):
    prefetch: int = Field(default=4, ge=1, le=100)
