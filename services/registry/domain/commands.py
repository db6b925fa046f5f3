"""What callers ask the registry to do; validated at the edge, pure values inside."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^\S(.*\S)?$"
REGION_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class CreateTenant(_Command):
    """Create a tenant."""

    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)


class RegisterPrinter(_Command):
    """Add a printer to a tenant (operators name the tenant; tenant admins may omit it)."""

    tenant_id: uuid.UUID | None = None
    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    model: str = Field(min_length=1, max_length=200)
    region: str = Field(
        min_length=2,
        max_length=64,
        pattern=REGION_PATTERN,
        description="Lowercase region code such as 'eu-west' or 'us-east-1'.",
    )
    location: str | None = Field(default=None, max_length=500)


class UpdatePrinter(_Command):
    """Change a printer's descriptive attributes; absent fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)
    model: str | None = Field(default=None, min_length=1, max_length=200)
    region: str | None = Field(default=None, min_length=2, max_length=64, pattern=REGION_PATTERN)
    location: str | None = Field(default=None, max_length=500)

    def changes(self) -> dict[str, str | None]:
        """The fields the caller sent; ``location: null`` clears it, others may not be null."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class CreateVirtualPrinter(_Command):
    """Create a shared pull-print queue over some of the tenant's printers."""

    tenant_id: uuid.UUID | None = None
    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    members: list[uuid.UUID] = Field(default_factory=list, max_length=500)


class UpdateVirtualPrinter(_Command):
    """Rename a virtual printer and/or replace its members (absent: unchanged)."""

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)
    members: list[uuid.UUID] | None = Field(default=None, max_length=500)


class StartRegistration(_Command):
    """A device asks to join: its public key, what it is, and its model."""

    public_key: str = Field(min_length=40, max_length=1000, description="PEM or base64url.")
    kind: Literal["printer", "connector"] = "printer"
    model: str = Field(min_length=1, max_length=200)


class RedeemRegistration(_Command):
    """A device claimed while offline asks for its identity (its key proves it is the device)."""

    public_key: str = Field(min_length=40, max_length=1000, description="PEM or base64url.")


class _NewDevice(_Command):
    tenant_id: uuid.UUID | None = None
    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    region: str = Field(min_length=2, max_length=64, pattern=REGION_PATTERN)
    location: str | None = Field(default=None, max_length=500)


class ClaimDevice(_NewDevice):
    """An administrator claims a registered device for a tenant by its code."""

    claim_code: str = Field(min_length=1, max_length=32)


class RelaySheet(_NewDevice):
    """An administrator relays the registration sheet of a device that is offline."""

    sheet: str = Field(min_length=1, max_length=4000, description="The sheet's QR payload.")


class ConnectorDevice(_Command):
    """A printer a connector is responsible for, and the URI it reaches it at."""

    printer_id: uuid.UUID
    uri: str = Field(min_length=1, max_length=2000, pattern=r"^(ipps?|https?)://\S+$")
    files_uri: str | None = Field(
        default=None, min_length=1, max_length=2000, pattern=r"^https?://\S+$",
        description="Where the printer takes files (firmware, templates); none: it takes none.",
    )  # fmt: skip


class AssignConnectorDevices(_Command):
    """The whole list of printers a connector is responsible for."""

    devices: list[ConnectorDevice] = Field(max_length=10_000)


class IssueCommand(_Command):
    """Ask a device to do something; it is delivered until the device acknowledges."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_]*$")
    payload: dict[str, Any] = Field(default_factory=dict)
