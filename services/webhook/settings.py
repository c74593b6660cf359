"""The webhook service's settings (DESIGN §2)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from shared.settings import GraphSettings


class WebhookSettings(GraphSettings):
    meta_app_secret: SecretStr
    meta_verify_token: SecretStr
    admin_token: SecretStr
    port: int = Field(default=8000, ge=0, le=65535)
    host: str = "0.0.0.0"  # noqa: S104 - a service behind a load balancer listens on all interfaces

    @field_validator("meta_app_secret", "meta_verify_token", "admin_token")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @property
    def app_secrets(self) -> list[bytes]:
        """Every configured app secret (Facebook and Instagram apps), as HMAC keys."""
        raw = self.meta_app_secret.get_secret_value()
        return [s.strip().encode() for s in raw.split(",") if s.strip()]

    def secrets(self) -> list[str]:
        return super().secrets() + [s.decode() for s in self.app_secrets]
