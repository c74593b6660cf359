"""The analyzer service's settings (DESIGN §2), with the knobs tests and benchmarks turn down."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr

from shared.settings import GraphSettings


class AnalyzerSettings(GraphSettings):
    DEFAULT_METRICS_PORT: ClassVar[int] = 9101
    # Graph settings and TOKEN_ENCRYPTION_KEY are optional here: they enable best-effort name
    # lookups for contacts first seen through webhooks.
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = Field(default=None, pattern=r"^https?://")
    llm_model: str = Field(
        default="gpt-4o-mini", validation_alias=AliasChoices("leadsync_llm_model", "llm_model")
    )
    llm_concurrency: int = Field(default=16, ge=1, le=1000)
    llm_rpm: int = Field(default=500, ge=1)
    llm_tpm: int = Field(default=200_000, ge=1)
    # One call must end well before a held message would look stuck; the client's own default
    # (10 minutes) is far longer than that.
    llm_timeout_s: float = Field(default=20.0, gt=0, le=300)
    llm_attempts: int = Field(default=3, ge=1, le=10)
    llm_backoff_s: float = Field(default=0.5, ge=0, le=60)
    llm_retry_after_max_s: float = Field(default=30.0, ge=0, le=600)
    # Every request bounds its reply (DESIGN §7.6); OpenAI's reasoning models name the bound
    # max_completion_tokens, most OpenAI-compatible servers max_tokens.
    llm_max_tokens: int = Field(default=800, ge=100, le=16_000)
    llm_max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    # Shadow scoring (DESIGN §7.7): a candidate prompt version and/or model scores every
    # conversation a second time; its analyses go to the ledger only, never move a contact.
    shadow_prompt_version: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        validation_alias=AliasChoices("leadsync_shadow_prompt_version", "shadow_prompt_version"),
    )
    shadow_model: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        validation_alias=AliasChoices("leadsync_shadow_model", "shadow_model"),
    )
    # Webhook events of one conversation arriving within this window share one analysis.
    analyzer_debounce_s: float = Field(default=2.0, ge=0, le=60)
    # A delivery is held at most this long for its analyses; events still waiting for the LLM
    # are then published again, so no message nears RabbitMQ's 30-minute consumer timeout.
    analyzer_hold_s: float = Field(default=600.0, gt=0, le=1500)
    # How long the analyzer believes a page is connected; "not connected" is asked every time.
    analyzer_connected_cache_s: float = Field(default=10.0, ge=0, le=300)
    transcript_max_messages: int = Field(default=60, ge=1, le=1000)
    transcript_token_budget: int = Field(default=3000, ge=50, le=200_000)
    # One Graph profile call (names are looked up in the background; scoring never waits).
    names_timeout_s: float = Field(default=10.0, gt=0, le=60)
    # Held (debounced) deliveries occupy prefetch slots, so prefetch is sized for a window's worth.
    prefetch: int = Field(default=512, ge=1, le=5000)
    # Message bodies decoded and handled at once (ANALYZER_MAX_BYTES_IN_FLIGHT; backfill batches
    # carry 20 conversations each, so prefetch alone would let 512 x 20 be decoded in memory).
    analyzer_max_bytes_in_flight: int = Field(default=2_000_000, ge=100_000)

    def llm_summary(self) -> dict[str, object]:
        """What the analyzer logs at start about its LLM (no secret in it)."""
        return {
            "model": self.llm_model,
            "concurrency": self.llm_concurrency,
            "rpm": self.llm_rpm,
            "tpm": self.llm_tpm,
            "max_tokens": self.llm_max_tokens,
        }

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())
