"""Settings every service shares; each service subclasses with its own env prefix.

``RegistrySettings`` reads ``PRINTCLOUD_REGISTRY_DATABASE_URL``,
``PRINTCLOUD_REGISTRY_KAFKA_BOOTSTRAP`` and so on: one prefix per service, so one
environment can hold the configuration of every service without collisions.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.kafka.access import KafkaAccess


def home() -> Path:
    """Where a machine's local Printcloud state lives (``PRINTCLOUD_HOME``)."""
    default = Path.home() / ".local" / "share" / "printcloud"
    return Path(os.environ.get("PRINTCLOUD_HOME", default))


def _loopback() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.IPv4Network("127.0.0.0/8"), ipaddress.IPv6Network("::1/128")]


class ProcessSettings(BaseSettings):
    """What every Printcloud process needs: Kafka, HTTP, logs, shutdown, operator token."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_username: str = Field(
        default="",
        description=(
            "This process's Kafka user (SASL SCRAM-SHA-512 over TLS); empty connects "
            "without credentials, which a Printcloud broker refuses."
        ),
    )
    kafka_password: SecretStr = Field(default=SecretStr(""), description="Its password.")
    kafka_ca_file: str = Field(
        default="",
        description="PEM file of the CA that signed the broker's certificate; empty: the "
        "system's trusted CAs.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    log_level: str = "INFO"
    log_json: bool = True
    shutdown_grace_s: float = Field(
        default=2.0, ge=0, description="Time between readiness=false and stopping work."
    )
    operator_token: SecretStr | None = Field(
        default=None,
        description="Bootstrap operator bearer token (platform-wide admin).",
    )
    operator_token_sha256: str = Field(
        default="",
        pattern=r"^([0-9a-fA-F]{64})?$",
        description=(
            "The operator token's SHA-256 hex digest, instead of the token: a service that "
            "only verifies the operator's calls need not hold the token itself."
        ),
    )
    http_header_timeout_s: float = Field(
        default=10,
        gt=0,
        le=300,
        description="Time a client has to send a request's line and headers once it began "
        "(or once it connected); past it the connection is dropped.",
    )
    http_body_idle_timeout_s: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="Longest pause in a request body the server is reading; a client "
        "trickling its body slower than this is dropped.",
    )
    http_keepalive_timeout_s: float = Field(
        default=30, gt=0, le=3600, description="An idle kept-alive connection is closed after this."
    )
    startup_timeout_s: float = Field(
        default=0,
        ge=0,
        description=(
            "How long start-up waits for an unreachable database or broker before the "
            "process gives up and exits 1; 0 waits for ever (the probes decide)."
        ),
    )

    def kafka(self) -> KafkaAccess:
        """How this process reaches the broker, with its own identity."""
        return KafkaAccess(
            self.kafka_bootstrap,
            self.kafka_username,
            self.kafka_password.get_secret_value(),
            self.kafka_ca_file,
        )


class ServiceSettings(ProcessSettings):
    """Configuration common to every service that owns a Postgres schema."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_", extra="ignore")

    database_url: SecretStr = Field(
        description="DSN of this service's own login role (search_path = its schema)."
    )
    db_schema: str = Field(default="", description="Schema; defaults to the service name.")
    db_pool_min: int = Field(default=2, ge=1)
    db_pool_max: int = Field(default=10, ge=1)
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    outbox_poll_s: float = Field(
        default=5.0, gt=0, description="Safety poll when no NOTIFY arrives."
    )
    consumer_batch_size: int = Field(default=500, ge=1, le=10_000)
    inbox_retention_days: int = Field(
        default=35,
        ge=1,
        description="Keep inbox rows longer than any topic keeps messages (30 days).",
    )
    event_actors: bool = Field(
        default=True,
        description=(
            "Name the request's caller as the `actor` of the events it causes (the audit "
            "trail's 'who'). Off only while upgrading a running platform from a release "
            "whose consumers refuse the field (docs/audit.md)."
        ),
    )
    trusted_proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = Field(
        default_factory=_loopback,
        description=(
            "Networks of the proxies in front of this service (the edge, an ingress) whose "
            "X-Forwarded-For is believed; limits key on the real client behind them."
        ),
    )
    service_identities: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "The services that may call this one as themselves (JSON object: service name -> "
            "SHA-256 hex digest of its service token). Each gets only the scopes of its grant "
            "(shared.http.identities.SERVICE_GRANTS); the tokens themselves stay with them."
        ),
    )
    auth_jwks_url: str = Field(
        default="",
        description=(
            "URL of the auth service's JWKS (/.well-known/jwks.json); when set, access tokens "
            "are accepted besides the operator token. Empty: the operator token only."
        ),
    )
    auth_issuer: str = Field(
        default="printcloud-auth",
        min_length=1,
        description="The `iss` of access tokens: auth signs with it, services require it.",
    )
    auth_audience: str = Field(
        default="printcloud", min_length=1, description="The `aud` access tokens must carry."
    )
    auth_leeway_s: float = Field(
        default=30, ge=0, le=300, description="Clock skew tolerated when checking exp/nbf/iat."
    )
    auth_jwks_min_refresh_s: float = Field(
        default=10,
        ge=0,
        description="Least time between two JWKS fetches (a token with an unknown kid refreshes).",
    )

    @field_validator("service_identities", mode="before")
    @classmethod
    def _identities_as_json(cls, value: object) -> object:
        """The JSON text of the environment variable, also when given as a plain value."""
        return json.loads(value) if isinstance(value, str) else value
