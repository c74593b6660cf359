"""The assigner service's settings (DESIGN §2)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import BaseServiceSettings

DEFAULT_METRICS_PORT = 9102


class AssignerSettings(BaseServiceSettings):
    prefetch: int = Field(default=64, ge=1, le=5000)
