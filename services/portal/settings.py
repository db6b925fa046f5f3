"""Portal settings: ``PRINTCLOUD_PORTAL_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PortalSettings(ServiceSettings):
    """Configuration of the web portal."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_PORTAL_", extra="ignore")

    api_url: str = Field(
        default="http://127.0.0.1:8080",
        description="The platform's public base URL (the edge): every page reads and "
        "writes there with the signed-in person's own access token.",
    )
    portal_url: str = Field(
        default="http://localhost:8091",
        description="Where browsers reach the portal (scheme://host[:port]); form posts "
        "from any other origin are refused, and passkeys are made for its host.",
    )
    ipp_url: str | None = Field(
        default=None,
        description="How computers and phones reach the platform's IPP printers "
        "(ipp://host[:port] or ipps://host); default: api_url's host and port, ipps for https.",
    )
    secure_cookies: bool = Field(
        default=True,
        description="Mark cookies Secure (browsers keep them for https and for localhost).",
    )
    session_ttl_s: int = Field(
        default=8 * 3600, ge=60,
        description="Longest session; it ends earlier when the access token behind it does.",
    )  # fmt: skip
    max_upload_bytes: int = Field(
        default=50 << 20, ge=1024, description="Largest document a page uploads."
    )
    api_timeout_s: float = Field(default=60, gt=0, description="One API call's limit.")
