"""The payloads of the commands the agent understands (``Command.name`` -> model)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

_MIME = r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrintJob(_Payload):
    """``print_job``: print one document."""

    job_id: uuid.UUID
    document_b64: str = Field(min_length=1, description="base64 or base64url of the document")
    document_format: str = Field(pattern=_MIME, max_length=255)
    title: str = Field(default="", max_length=1000)
    copies: int = Field(default=1, ge=1, le=1_000_000)


class DeliverFile(_Payload):
    """``deliver_file``: a settings, template or firmware file for a printer."""

    name: str = Field(min_length=1, max_length=200)
    content_b64: str
    purpose: Literal["settings", "template", "firmware"]


class ApplySettings(_Payload):
    """``apply_settings``: printer settings (IPP printer attributes, e.g.
    ``printer-location``) applied with Set-Printer-Attributes."""

    attributes: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$", max_length=100)],
        str | int | bool,
    ] = Field(min_length=1, max_length=50)


class DeviceEntry(_Payload):
    """One printer a connector is responsible for."""

    printer_id: uuid.UUID
    uri: str = Field(pattern=r"^ipps?://[^\s/]+(/\S*)?$", max_length=1000)
    files_uri: str | None = Field(default=None, pattern=r"^\S+://\S+$", max_length=1000)
    name: str | None = Field(default=None, max_length=200)


class SyncDevices(_Payload):
    """``sync_devices``: the whole list of printers a connector bridges."""

    devices: list[DeviceEntry] = Field(default_factory=list, max_length=1000)


def reason(exc: ValidationError) -> str:
    """A short, field-naming explanation of a refused payload."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "payload"
        parts.append(f"{where}: {error['msg']}")
    return "invalid payload: " + "; ".join(parts)
