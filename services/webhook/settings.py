"""The webhook service's settings (DESIGN §2)."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from shared.settings import GENERATE_HINT, GraphSettings

MIN_ADMIN_TOKEN = 32
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class WebhookSettings(GraphSettings):
    DEFAULT_METRICS_PORT: ClassVar[int] = 9100
    meta_app_secret: SecretStr
    meta_verify_token: SecretStr
    admin_token: SecretStr
    port: int = Field(default=8000, ge=0, le=65535)
    host: str = "0.0.0.0"  # noqa: S104 - a service behind a load balancer listens on all interfaces
    # Where browsers and Meta reach this service: cookies are Secure when it is https, and
    # console POSTs must come from this origin.
    public_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
    # Proxies whose X-Forwarded-For / -Proto uvicorn believes (the client address that auth
    # throttling counts); comma-separated addresses or networks, "*" for any.
    # Failed authentications one client address may make per minute before it gets 429.
    auth_failures_per_minute: int = Field(default=10, ge=1, le=1_000_000)
    # Facebook Login (DESIGN §2): where the OAuth dialog lives, and an optional Facebook Login
    # for Business configuration that replaces `scope` in it.
    meta_web_base_url: str = Field(default="https://www.facebook.com", pattern=r"^https?://[^?#\s]+$")
    meta_login_config_id: str | None = Field(default=None, pattern=r"^[0-9]{1,32}$")

    @field_validator("meta_login_config_id", mode="before")
    @classmethod
    def _blank_config_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    forwarded_allow_ips: str = Field(default="127.0.0.1", pattern=r"^[0-9A-Fa-f:.,/* ]+$")

    @field_validator("meta_app_secret", "meta_verify_token", "admin_token")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("meta_app_secret")
    @classmethod
    def _some_secret(cls, value: SecretStr) -> SecretStr:
        if not [s for s in value.get_secret_value().split(",") if s.strip()]:
            raise ValueError("holds no secret, only commas and spaces")
        return value

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().strip()) < MIN_ADMIN_TOKEN:
            raise ValueError(f"must be at least {MIN_ADMIN_TOKEN} characters; {GENERATE_HINT}")
        return value

    @property
    def app_secrets(self) -> list[bytes]:
        """Every configured app secret (Facebook and Instagram apps), as HMAC keys."""
        raw = self.meta_app_secret.get_secret_value()
        return [s.strip().encode() for s in raw.split(",") if s.strip()]

    @property
    def public_origin(self) -> str:
        """`scheme://host[:port]` of PUBLIC_URL, what a browser sends as Origin."""
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}".lower()

    @property
    def public_base(self) -> str:
        """PUBLIC_URL without a trailing slash: prefix of the absolute URLs we hand out."""
        return self.public_url.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.lower().startswith("https://")

    def allowed_origins(self) -> set[str]:
        """PUBLIC_URL's origin; a loopback PUBLIC_URL also accepts the other loopback spellings."""
        parts = urlsplit(self.public_origin)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        spelled = f"[{host}]" if ":" in host else host
        if spelled not in LOOPBACK_HOSTS:
            return {self.public_origin}
        return {f"{parts.scheme}://{h}{port}" for h in LOOPBACK_HOSTS}

    def secrets(self) -> list[str]:
        return super().secrets() + [s.decode() for s in self.app_secrets]
