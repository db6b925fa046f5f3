"""A printer's IPP attributes (RFC 8011 §5.4, PWG 5100.14 IPP Everywhere) from what
the device reports (:class:`Capabilities`) and its presence."""

from __future__ import annotations

from datetime import datetime

from services.ipp.domain.media import media_size
from services.ipp.domain.model import (
    HOLD_UNTIL,
    MARKER_COLOURS,
    MARKER_TYPES,
    Target,
    printer_state,
)
from services.ipp.protocol.codec import Attribute, Resolution, Value
from services.ipp.protocol.constants import Op, Tag
from shared.printing import driverless
from shared.printing.capabilities import Capabilities

OPERATIONS = (
    Op.PRINT_JOB, Op.VALIDATE_JOB, Op.CREATE_JOB, Op.SEND_DOCUMENT, Op.CANCEL_JOB,
    Op.GET_JOB_ATTRIBUTES, Op.GET_JOBS, Op.GET_PRINTER_ATTRIBUTES, Op.HOLD_JOB,
    Op.RELEASE_JOB, Op.CANCEL_MY_JOBS, Op.CLOSE_JOB, Op.IDENTIFY_PRINTER,
)  # fmt: skip
"""Every operation the endpoint answers; a virtual printer has no Identify-Printer."""
IDENTIFY_ACTIONS = ("display",)
"""What Identify-Printer asks of the device: it shows itself the way it can."""
ORIENTATIONS = {"portrait": 3, "landscape": 4, "reverse-landscape": 5, "reverse-portrait": 6}
FINISHINGS = {
    "none": 3, "staple": 4, "punch": 5, "cover": 6, "bind": 7, "saddle-stitch": 8,
    "edge-stitch": 9, "fold": 10, "trim": 11, "bale": 12, "booklet-maker": 13,
    "jog-offset": 14, "coat": 15, "laminate": 16, "staple-top-left": 20,
    "staple-bottom-left": 21, "staple-top-right": 22, "staple-bottom-right": 23,
    "edge-stitch-left": 24, "edge-stitch-top": 25, "edge-stitch-right": 26,
    "edge-stitch-bottom": 27, "staple-dual-left": 28, "staple-dual-top": 29,
    "staple-dual-right": 30, "staple-dual-bottom": 31, "punch-top-left": 70,
    "punch-bottom-left": 71, "punch-top-right": 72, "punch-bottom-right": 73,
    "punch-dual-left": 74, "punch-dual-top": 75, "punch-dual-right": 76,
    "punch-dual-bottom": 77, "trim-after-pages": 60, "trim-after-documents": 61,
    "trim-after-copies": 62, "trim-after-job": 63,
}  # fmt: skip
JOB_TEMPLATE = (
    "copies", "finishings", "media", "media-col", "multiple-document-handling",
    "orientation-requested", "page-ranges", "print-color-mode", "print-quality",
    "printer-resolution", "sides", "output-bin", "job-hold-until", "job-priority",
    "job-sheets",
)  # fmt: skip
OPERATION_JOB_ATTRIBUTES = ("job-name", "document-format", "ipp-attribute-fidelity")


def _kw(name: str, *values: str) -> Attribute:
    return Attribute.of(name, Tag.KEYWORD, *values)


def _int(name: str, *values: int) -> Attribute:
    return Attribute.of(name, Tag.INTEGER, *values)


def _enum(name: str, *values: int) -> Attribute:
    return Attribute.of(name, Tag.ENUM, *values)


def media_col(keyword: str, source: str | None = None) -> list[Attribute]:
    """The media-col value of a media keyword (its size when the name tells it)."""
    members: list[Attribute] = []
    size = media_size(keyword)
    if size:
        members.append(
            Attribute.of(
                "media-size",
                Tag.BEGIN_COLLECTION,
                [_int("x-dimension", size[0]), _int("y-dimension", size[1])],
            )
        )
    members.append(_kw("media-size-name", keyword))
    for margin in ("bottom", "left", "right", "top"):
        members.append(_int(f"media-{margin}-margin", 423))
    if source:
        members.append(_kw("media-source", source))
    return members


def _resolution(caps: Capabilities) -> list[Resolution]:
    found = [
        Resolution(r.x, r.y, 3 if r.units == "dpi" else 4)
        for r in caps.printer_resolution_supported
    ]
    return found or [Resolution(300, 300, 3)]


def printer_attributes(
    target: Target,
    caps: Capabilities,
    printer_uri: str,
    *,
    secure: bool,
    queued: int,
    now: datetime,
    started: datetime,
) -> list[Attribute]:
    """Every printer attribute, job template ones included."""
    state, reason = printer_state(target)
    formats = [*driverless.formats(caps), "application/octet-stream"]
    media = caps.media_supported or ["iso_a4_210x297mm", "na_letter_8.5x11in"]
    media_default = caps.media_default or media[0]
    sources = caps.media_source_supported
    types = caps.media_type_supported
    resolutions = _resolution(caps)
    finishings = [FINISHINGS[f] for f in caps.finishings_supported if f in FINISHINGS] or [3]
    colour = list(caps.print_color_mode_supported) or ["monochrome"]
    colour_default = "color" if "color" in colour else colour[0]
    uuid_urn = f"urn:uuid:{driverless.printer_uuid(target.id)}"
    sizes = [media_size(m) for m in media]
    media_sizes = [
        [_int("x-dimension", s[0]), _int("y-dimension", s[1])] for s in sizes if s is not None
    ]
    urf = driverless.urf_supported(caps)
    up = max(1, int((now - started).total_seconds()))
    attrs = [
        Attribute.of("charset-configured", Tag.CHARSET, "utf-8"),
        Attribute.of("charset-supported", Tag.CHARSET, "utf-8"),
        _kw("compression-supported", "none"),
        Attribute.of("document-format-default", Tag.MIME_TYPE, "application/octet-stream"),
        Attribute.of("document-format-supported", Tag.MIME_TYPE, *formats),
        Attribute.of("generated-natural-language-supported", Tag.LANGUAGE, "en"),
        _kw("ipp-versions-supported", "1.0", "1.1", "2.0"),
        _kw("ipp-features-supported", "ipp-everywhere"),
        Attribute.of("natural-language-configured", Tag.LANGUAGE, "en"),
        _enum("operations-supported", *(
            op for op in OPERATIONS if op != Op.IDENTIFY_PRINTER or target.kind == "printer"
        )),
        _kw("pdl-override-supported", "attempted"),
        Attribute.of("printer-is-accepting-jobs", Tag.BOOLEAN, True),
        Attribute.of("printer-name", Tag.NAME, target.name[:127] or str(target.id)),
        Attribute.of("printer-info", Tag.TEXT, target.name[:127] or str(target.id)),
        Attribute.of("printer-location", Tag.TEXT, target.location[:127]),
        Attribute.of("printer-make-and-model", Tag.TEXT, target.make_and_model[:127]),
        Attribute.of("printer-more-info", Tag.URI, printer_uri.replace("ipp", "http", 1)),
        _enum("printer-state", state),
        _kw("printer-state-reasons", *reason),
        Attribute.of("printer-state-message", Tag.TEXT, "" if target.online else "offline"),
        _int("printer-up-time", up),
        Attribute.of("printer-current-time", Tag.DATE_TIME, now),
        _int("printer-config-change-time", 1),
        _int("printer-state-change-time", 1),
        Attribute.of("printer-uri-supported", Tag.URI, printer_uri),
        _kw("uri-authentication-supported", "basic"),
        _kw("uri-security-supported", "tls" if secure else "none"),
        Attribute.of("printer-uuid", Tag.URI, uuid_urn),
        _int("queued-job-count", queued),
        _kw("printer-kind", "document"),
        Attribute.of("color-supported", Tag.BOOLEAN, "color" in colour),
        _int("pages-per-minute", 20),
        *([_int("pages-per-minute-color", 20)] if "color" in colour else []),
        _int("multiple-operation-time-out", 120),
        _kw("multiple-operation-time-out-action", "abort-job"),
        _kw("which-jobs-supported", "completed", "not-completed"),
        Attribute.of("job-ids-supported", Tag.BOOLEAN, False),
        Attribute.of("multiple-document-jobs-supported", Tag.BOOLEAN, False),
        _kw("job-creation-attributes-supported", *JOB_TEMPLATE, *OPERATION_JOB_ATTRIBUTES),
        Attribute.of("job-name-supported", Tag.BOOLEAN, True),
        Attribute.of("job-k-octets-supported", Tag.RANGE, (0, 1 << 20)),
        _kw("job-settable-attributes-supported", "none"),
        _kw("printer-settable-attributes-supported", "none"),
        _kw("job-hold-until-default", "no-hold"),
        _kw("job-hold-until-supported", *HOLD_UNTIL),
        _int("job-priority-default", 50),
        _int("job-priority-supported", 1),
        _kw("job-sheets-default", "none"),
        _kw("job-sheets-supported", "none"),
        # job template
        _int("copies-default", 1),
        Attribute.of("copies-supported", Tag.RANGE, (1, caps.copies_supported.max)),
        _enum("finishings-default", 3),
        _enum("finishings-supported", *finishings),
        _kw("media-default", media_default),
        _kw("media-supported", *media),
        _kw("media-ready", media_default),
        Attribute.of("media-col-default", Tag.BEGIN_COLLECTION, media_col(media_default)),
        Attribute.of("media-col-ready", Tag.BEGIN_COLLECTION, media_col(media_default)),
        _kw("media-col-supported", "media-size", "media-size-name", "media-bottom-margin",
            "media-left-margin", "media-right-margin", "media-top-margin", "media-source"),
        Attribute.of("media-size-supported", Tag.BEGIN_COLLECTION, *media_sizes),
        _int("media-bottom-margin-supported", 423),
        _int("media-left-margin-supported", 423),
        _int("media-right-margin-supported", 423),
        _int("media-top-margin-supported", 423),
        _kw("multiple-document-handling-supported", "separate-documents-uncollated-copies",
            "separate-documents-collated-copies"),
        _enum("orientation-requested-default", 3),
        _enum("orientation-requested-supported", *ORIENTATIONS.values()),
        Attribute.of("page-ranges-supported", Tag.BOOLEAN, caps.page_ranges_supported),
        _kw("print-color-mode-default", colour_default),
        _kw("print-color-mode-supported", *colour),
        _kw("output-mode-supported", *("color" if c == "color" else "monochrome" for c in colour)),
        _enum("print-quality-default", 4),
        _enum("print-quality-supported", 4),
        Attribute.of("printer-resolution-default", Tag.RESOLUTION, resolutions[0]),
        Attribute.of("printer-resolution-supported", Tag.RESOLUTION, *resolutions),
        _kw("sides-default", "one-sided"),
        _kw("sides-supported", *caps.sides_supported),
        _kw("pwg-raster-document-type-supported",
            *(["srgb_8", "sgray_8"] if "color" in colour else ["sgray_8"])),
        Attribute.of("pwg-raster-document-resolution-supported", Tag.RESOLUTION, *resolutions),
        _kw("pwg-raster-document-sheet-back", "normal"),
        _kw("urf-supported", *urf),
        _kw("print-content-optimize-default", "auto"),
        _kw("print-content-optimize-supported", "auto"),
        _kw("print-scaling-default", "auto"),
        _kw("print-scaling-supported", "auto", "none", "fit", "fill"),
        _kw("identify-actions-default", IDENTIFY_ACTIONS[0]),
        _kw("identify-actions-supported", *IDENTIFY_ACTIONS),
        _kw("printer-get-attributes-supported", "document-format"),
    ]  # fmt: skip
    markers = target.markers
    if markers:
        attrs += [
            Attribute.of("marker-names", Tag.NAME, *(m.name[:255] or m.kind for m in markers)),
            Attribute.of("marker-colors", Tag.NAME,
                         *(MARKER_COLOURS.get(m.colour, "none") for m in markers)),
            _kw("marker-types", *(MARKER_TYPES.get(m.kind, "toner") for m in markers)),
            _int("marker-levels", *(-2 if m.level is None else m.level for m in markers)),
            _int("marker-low-levels", *(10 for _ in markers)),
            _int("marker-high-levels", *(100 for _ in markers)),
        ]  # fmt: skip
    if sources:
        attrs.append(_kw("media-source-supported", *sources))
    if types:
        attrs.append(_kw("media-type-supported", *types))
    if caps.output_bin_supported:
        attrs.append(_kw("output-bin-default", caps.output_bin_supported[0]))
        attrs.append(_kw("output-bin-supported", *caps.output_bin_supported))
    return attrs


TEMPLATE_NAMES = frozenset(
    f"{n}-{s}" for n in JOB_TEMPLATE for s in ("default", "supported", "ready")
) | {"media-col-supported", "media-size-supported", "media-source-supported",
     "media-type-supported", "output-bin-supported", "print-quality-supported",
     "media-bottom-margin-supported", "media-left-margin-supported",
     "media-right-margin-supported", "media-top-margin-supported"}  # fmt: skip


def select(attributes: list[Attribute], requested: list[str] | None) -> list[Attribute]:
    """The attributes named by requested-attributes ('all', 'job-template',
    'printer-description' or names); no requested-attributes means all."""
    if not requested or "all" in requested:
        return attributes
    want = set(requested)
    out = []
    for a in attributes:
        template = a.name in TEMPLATE_NAMES
        if (
            a.name in want
            or (template and "job-template" in want)
            or (not template and "printer-description" in want)
        ):
            out.append(a)
    return out


def value_list(attribute: Attribute | None) -> list[object]:
    """The values of an attribute (empty when absent)."""
    return [v.value for v in attribute.values] if attribute else []


def out_of_band(name: str, tag: int = Tag.UNSUPPORTED) -> Attribute:
    """An attribute whose only value is out-of-band (unsupported, unknown, no-value)."""
    return Attribute(name, [Value(tag, None)])
