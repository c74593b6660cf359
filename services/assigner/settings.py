"""The assigner service's settings (DESIGN §2)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.settings import BaseServiceSettings


class AssignerSettings(BaseServiceSettings):
    DEFAULT_METRICS_PORT: ClassVar[int] = 9102
    prefetch: int = Field(default=64, ge=1, le=5000)
