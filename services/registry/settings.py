"""Registry settings: ``PRINTCLOUD_REGISTRY_*``."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Configuration of the registry service."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_REGISTRY_", extra="ignore")
