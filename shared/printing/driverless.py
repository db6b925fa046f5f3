"""What a driverless (IPP Everywhere, AirPrint) client is told about a Printcloud
printer, the same wherever it is told: in the IPP endpoint's printer attributes and in
the DNS-SD records an agent advertises for the cloud queues it fronts."""

from __future__ import annotations

import uuid

from shared.printing.capabilities import Capabilities

FORMATS = ("application/pdf", "image/pwg-raster", "image/urf", "image/jpeg")
"""The document formats the IPP endpoint passes on, when the device takes them."""


def printer_uuid(printer_id: uuid.UUID) -> uuid.UUID:
    """The printer's stable UUID (IPP printer-uuid, DNS-SD ``UUID``)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"printcloud:{printer_id}")


def printer_path(printer_id: uuid.UUID | str) -> str:
    """The printer URI's path on the edge."""
    return f"/ipp/print/{printer_id}"


def formats(caps: Capabilities) -> list[str]:
    """The formats a client may send (PDF always: the endpoint's baseline)."""
    found = [f for f in FORMATS if f in caps.document_format_supported]
    if "application/pdf" not in found:
        found.insert(0, "application/pdf")
    return found


def colour(caps: Capabilities) -> bool:
    """Whether the printer prints in colour."""
    return "color" in caps.print_color_mode_supported


def duplex(caps: Capabilities) -> bool:
    """Whether the printer prints on both sides."""
    return any(s.startswith("two-sided") for s in caps.sides_supported)


def resolutions_dpi(caps: Capabilities) -> list[int]:
    """Cross-feed resolutions in dpi (300 when the device reported none)."""
    found = [
        r.x if r.units == "dpi" else round(r.x * 2.54) for r in caps.printer_resolution_supported
    ]
    return found or [300]


def urf_supported(caps: Capabilities) -> list[str]:
    """AirPrint's ``urf-supported`` (and DNS-SD ``URF``) values."""
    urf = ["V1.4", "W8", "CP1", "PQ4", "RS" + "-".join(str(r) for r in resolutions_dpi(caps))]
    if colour(caps):
        urf.insert(2, "SRGB24")
    if duplex(caps):
        urf.append("DM1")
    return urf
