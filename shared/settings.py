"""Configuration read from the environment (DESIGN §2): one settings class per service."""

from __future__ import annotations

import sys
from typing import Annotated, ClassVar, Literal, Self, TypeVar

from pydantic import AfterValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/leadsync"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
GENERATE_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"

# Every value the repository has ever shown as a secret (compose defaults, docs, .env.example):
# anyone can read them, so no service accepts them. tests/unit/test_published_secrets.py scans
# the repository's examples and fails when one is missing here.
PUBLISHED_SECRETS = frozenset(
    {
        "dev-app-secret-change-me",
        "dev-verify-token-change-me",
        "dev-admin-token-change-me",
        "x7P5K2cJm1cJt3nYx7lN9iH1qkq0y8z6yQ8rP1Yk3bE=",
        "leadsync",
        "test-app-secret-0123456789",
        "test-verify-token",
        "test-admin-token-abcdef",
        "bench-app-secret",
        "bench",
        "bench-admin",
        "replace-me-with-a-generated-value",
        "replace-me-with-a-generated-fernet-key",
        "replace-me-with-your-meta-app-secret",
    }
)


class BaseServiceSettings(BaseSettings):
    """Settings every service reads; services extend it with their own."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    amqp_url: SecretStr = SecretStr(DEFAULT_AMQP_URL)
    broker_namespace: str = Field(default="leadsync", pattern=r"^[A-Za-z0-9_.\-]{1,100}$")
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # How long a consumer keeps retrying a message that fails for a transient reason (DESIGN §4).
    retry_budget_s: float = Field(default=86_400.0, gt=0)

    @model_validator(mode="after")
    def _no_published_secret(self) -> Self:
        """Refuse any secret the repository shows as an example (compose, docs, .env.example)."""
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if name == "amqp_url" or not isinstance(value, SecretStr):
                continue
            parts = [value.get_secret_value(), *value.get_secret_value().split(",")]
            if any(part.strip() in PUBLISHED_SECRETS for part in parts):
                raise PublishedSecret(field.alias or name)
        return self

    # Where the service serves /healthz, /readyz and /metrics unless METRICS_PORT says otherwise.
    DEFAULT_METRICS_PORT: ClassVar[int] = 9100

    @property
    def health_port(self) -> int:
        """METRICS_PORT when set (0 picks a free port), else the service's default."""
        return self.DEFAULT_METRICS_PORT if self.metrics_port is None else self.metrics_port

    def secrets(self) -> list[str]:
        """Every secret value this object holds, for the log redactor."""
        values: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                values.append(value.get_secret_value())
        values.extend(_url_password(self.database_url))
        values.extend(_url_password(self.amqp_url.get_secret_value()))
        return values


def _url_password(url: str) -> list[str]:
    from urllib.parse import urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    # "guest" is RabbitMQ's well-known default; masking it would only garble logs.
    return [password] if password and password != "guest" else []  # noqa: S105


class PublishedSecret(ValueError):
    """A secret setting holds a value published in the repository (anyone can read it)."""

    def __init__(self, variable: str) -> None:
        super().__init__(variable.upper())
        self.variable = variable.upper()


S = TypeVar("S", bound=BaseServiceSettings)


class ConfigError(SystemExit):
    """Raised at start when configuration is missing or malformed; exits 1 with one line."""


def describe_error(err: ValidationError) -> str:
    """One line naming each bad variable, never its value (values may be secrets)."""
    parts = []
    for e in err.errors():
        var = str(e["loc"][0]).upper() if e["loc"] else "configuration"
        published = (e.get("ctx") or {}).get("error")
        if isinstance(published, PublishedSecret):
            parts.append(
                f"{published.variable} is a value published in the leadsync repository "
                f"(an example, not a secret); {GENERATE_HINT}"
            )
        elif e["type"] == "missing":
            parts.append(f"{var} is required but not set")
        else:
            parts.append(f"{var} is invalid ({e['msg'].rstrip('.').lower()})")
    return "; ".join(parts)


def load(cls: type[S], **overrides: object) -> S:
    """Build the settings or stop the process with one clear line and exit status 1."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as err:
        print(f"leadsync: configuration error: {describe_error(err)}", file=sys.stderr)
        raise ConfigError(1) from None


def _check_fernet(value: SecretStr | None) -> SecretStr | None:
    if value is not None and value.get_secret_value():
        from shared.crypto import valid_fernet_key

        valid_fernet_key(value.get_secret_value())
    return value


FernetKey = Annotated[SecretStr | None, AfterValidator(_check_fernet)]


class GraphSettings(BaseServiceSettings):
    """Settings of services that call Meta's Graph API."""

    graph_api_base_url: str = Field(default="https://graph.facebook.com", pattern=r"^https?://")
    graph_api_version: str = Field(default="v25.0", pattern=r"^v\d+\.\d+$")
    graph_calls_per_second: float = Field(default=2.0, gt=0, le=1000)
    # Contact-name lookups (`/{psid}`, `/{igsid}`), per page and per process.
    graph_profile_calls_per_second: float = Field(default=10.0, gt=0, le=1000)
    token_encryption_key: FernetKey = None
    # The Meta app: every Graph call made with a token carries appsecret_proof keyed with the
    # first META_APP_SECRET (DESIGN §2); the app id makes the app token and the OAuth dialog.
    meta_app_secret: SecretStr | None = None
    meta_app_id: str | None = Field(default=None, pattern=r"^[0-9]{1,32}$")

    @field_validator("meta_app_id", "meta_app_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`META_APP_ID=` (compose passes an unset variable as empty) means not configured."""
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def graph_app_secret(self) -> str | None:
        """The first META_APP_SECRET (the Facebook app's), the key of appsecret_proof."""
        if self.meta_app_secret is None:
            return None
        found = [s.strip() for s in self.meta_app_secret.get_secret_value().split(",") if s.strip()]
        return found[0] if found else None
