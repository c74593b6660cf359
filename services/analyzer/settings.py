"""The analyzer service's settings (DESIGN §2)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr

from shared.settings import BaseServiceSettings

DEFAULT_METRICS_PORT = 9101


class AnalyzerSettings(BaseServiceSettings):
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = Field(default=None, pattern=r"^https?://")
    llm_model: str = Field(
        default="gpt-4o-mini", validation_alias=AliasChoices("leadsync_llm_model", "llm_model")
    )
    llm_concurrency: int = Field(default=16, ge=1, le=1000)
    llm_rpm: int = Field(default=500, ge=1)
    llm_tpm: int = Field(default=200_000, ge=1)
    prefetch: int = Field(default=64, ge=1, le=5000)

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())
