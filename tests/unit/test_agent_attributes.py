"""Mapping a printer's IPP attributes (as the IPP client decodes them) to Capabilities."""

from __future__ import annotations

from typing import Any

from pyipp.enums import IppFinishing, IppPrinterState

from services.agent.printers.attributes import (
    capabilities_from_attributes,
    probe_from_attributes,
    values,
)

# What an IPP client returns for an office printer (lone values are not lists).
OFFICE: dict[str, Any] = {
    "document-format-supported": ["application/pdf", "image/pwg-raster", "Image/URF", "bogus"],
    "media-supported": ["iso_a4_210x297mm", "na_letter_8.5x11in", "Custom Size!"],
    "media-default": "iso_a4_210x297mm",
    "media-type-supported": ["stationery", "labels"],
    "media-source-supported": ["tray-1", "tray-2", "manual"],
    "output-bin-supported": "face-down",
    "sides-supported": ["one-sided", "two-sided-long-edge", "upside-down"],
    "print-color-mode-supported": ["monochrome", "color", "rainbow"],
    "printer-resolution-supported": [(300, 300, 3), (600, 1200, 3), (118, 118, 4), (1, 1, 9)],
    "finishings-supported": [IppFinishing.NONE, IppFinishing.STAPLE_TOP_LEFT, 93, 9999],
    "copies-supported": [1, 99],
    "page-ranges-supported": True,
    "printer-state": IppPrinterState.PROCESSING,
    "printer-state-reasons": ["media-low", "toner-low"],
    "printer-state-message": "Printing page 2",
}


def test_office_printer_maps_to_capabilities_dropping_what_the_model_refuses() -> None:
    caps = capabilities_from_attributes(OFFICE)
    assert caps.document_format_supported == ["application/pdf", "image/pwg-raster", "image/urf"]
    assert caps.media_supported == ["iso_a4_210x297mm", "na_letter_8.5x11in"]
    assert caps.media_default == "iso_a4_210x297mm"
    assert caps.media_source_supported == ["tray-1", "tray-2", "manual"]
    assert caps.output_bin_supported == ["face-down"]
    assert caps.sides_supported == ["one-sided", "two-sided-long-edge"]
    assert caps.print_color_mode_supported == ["monochrome", "color"]
    assert [(r.x, r.y, r.units) for r in caps.printer_resolution_supported] == [
        (300, 300, "dpi"), (600, 1200, "dpi"), (118, 118, "dpcm"),
    ]  # fmt: skip
    assert caps.finishings_supported == ["none", "staple-top-left", "fold-half"]
    assert caps.copies_supported.max == 99
    assert caps.page_ranges_supported is True


def test_a_bare_printer_gets_the_models_safe_defaults() -> None:
    caps = capabilities_from_attributes({"printer-resolution-supported": (600, 600, 3)})
    assert caps.sides_supported == ["one-sided"]
    assert caps.print_color_mode_supported == ["monochrome"]
    assert caps.finishings_supported == ["none"]
    assert caps.copies_supported.max == 1
    assert caps.page_ranges_supported is False
    assert caps.missing_essentials() == ["document_format_supported", "media_supported"]
    assert len(caps.printer_resolution_supported) == 1


def test_colour_from_color_supported_and_finishings_from_templates() -> None:
    caps = capabilities_from_attributes(
        {"color-supported": True, "finishing-template-supported": ["punch-dual-left", "staple"]}
    )
    assert caps.print_color_mode_supported == ["color", "monochrome"]
    assert caps.finishings_supported == ["punch-dual-left", "staple"]


def test_a_media_default_the_printer_does_not_list_is_dropped() -> None:
    caps = capabilities_from_attributes({"media-supported": "iso_a4_210x297mm",
                                          "media-default": "na_legal_8.5x14in"})  # fmt: skip
    assert caps.media_supported == ["iso_a4_210x297mm"] and caps.media_default is None


def test_state_and_reasons() -> None:
    probe = probe_from_attributes(OFFICE)
    assert probe.state == "processing"
    assert probe.reasons == ["media-low", "toner-low"]
    assert probe.message == "Printing page 2"
    idle = probe_from_attributes({"printer-state": 3, "printer-state-reasons": "none"})
    assert idle.state == "idle" and idle.reasons == []


def test_values_treats_a_lone_resolution_as_one_value() -> None:
    assert values({"r": (600, 600, 3)}, "r") == [(600, 600, 3)]
    assert values({"k": "one"}, "k") == ["one"]
    assert values({}, "k") == []
