"""IPP endpoint settings: ``PRINTCLOUD_IPP_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IppSettings(ServiceSettings):
    """Configuration of the IPP endpoint."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_IPP_", extra="ignore")

    api_url: str = Field(
        default="http://127.0.0.1:8080",
        description="The platform's public base URL (the edge): every printer, job and "
        "document is read and written there with the requesting user's own credentials.",
    )
    max_request_attributes: int = Field(
        default=1 << 20, ge=1024,
        description="Largest IPP header (everything before the document), in octets.",
    )  # fmt: skip
    token_cache_s: float = Field(
        default=300,
        ge=0,
        description="How long an API token's access token is reused (never past its expiry).",
    )
    api_timeout_s: float = Field(default=60, gt=0, description="One API call's limit.")
